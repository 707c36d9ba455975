# Sourced by the benchmark scripts (they set `root` first): what each of them did alike.

# Installs Debian packages (with sudo when not root), saying which and for whom.
#   install_debian_packages WHO PACKAGE...
install_debian_packages() {
  local who="$1"; shift
  local sudo=""; if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "$who: installing $*" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# The release builds the scenarios measure: sdam into .build, SDAMScenarios into .build-bench.
build_release_subjects() {
  (cd "$root" && swift build -c release --product sdam >&2)
  (cd "$root/Benchmarks" && swift build -c release --build-path "$root/.build-bench" --product SDAMScenarios >&2)
}

# The machine line every table starts with.
print_machine() {
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r)."
}
