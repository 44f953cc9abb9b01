# Shared by scripts/install and scripts/test (sourced, not run).

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'Error: %s\n' "$*" >&2; exit 1; }

# apt_install PACKAGE... : install Debian packages with apt-get, through sudo when not root.
# The caller has already said which packages and why.
apt_install() {
  command -v apt-get >/dev/null ||
    die "apt-get not found: install $* with your system's package manager, then run this again"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing $* needs root: run this as root, or install sudo"
    sudo="sudo"
    say "Running apt-get through sudo (you may be asked for your password)"
  fi
  if [ -z "${_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
