/**
 * Paths of the sidebar's folder view: into a folder and back, relative to the working dir.
 */
import { childPath, parentPath } from '../files';

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
