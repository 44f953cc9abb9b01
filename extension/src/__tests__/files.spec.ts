/**
 * Paths of the sidebar's folder view: into a folder and back, relative to the working dir.
 */
import { childPath, parentPath, progressText } from '../files';

describe('folder paths', () => {
  it('goes into a folder from the working dir and from a folder', () => {
    expect(childPath('.', 'data')).toBe('data');
    expect(childPath('data', 'raw')).toBe('data/raw');
    expect(childPath('data/', 'raw')).toBe('data/raw');
  });

  it('goes back up to the working dir and stays there', () => {
    expect(parentPath('data/raw')).toBe('data');
    expect(parentPath('data')).toBe('.');
    expect(parentPath('.')).toBe('.');
  });
});

describe('progress', () => {
  it('says how far, in percent of the whole', () => {
    expect(progressText(0, 52 * 1024 * 1024)).toBe('0% of 52.0 MB');
    expect(progressText(3, 10)).toBe('30% of 10 B');
    expect(progressText(12, 10)).toBe('100% of 10 B');
  });
});
