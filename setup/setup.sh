#!/usr/bin/env bash
# Installs what twobp needs and builds Open MPI's Java bindings (mpi.jar).
#
#   setup/setup.sh            check everything; install what is missing (root), or say exactly
#                             what is missing and how to get it (not root)
#   setup/setup.sh --version  print the Open MPI version the build uses (for -Dopenmpi.version)
#   setup/setup.sh --for-tests  also what the test suite needs: a local Slurm (munge, slurmctld,
#                             slurmd, slurm-client) for the end-to-end tests, and h5dump
#                             (hdf5-tools) and h5py (python3-h5py) to read checkpoints and logs back
#
# Idempotent: with everything present it only checks, in about a second.
# Environment:
#   MPI_JAR=/path/mpi.jar   use this mpi.jar instead of finding or building one
#   TWOBP_SETUP_QUIET=1     print only what is done, not what is already there
set -euo pipefail

say()  { [ "${TWOBP_SETUP_QUIET:-0}" = 1 ] || printf 'setup: %s\n' "$*"; }
act()  { printf 'setup: %s\n' "$*"; }
die()  { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
have()    { command -v "$1" >/dev/null 2>&1; }
mvn_repo() { echo "${MAVEN_REPO:-$HOME/.m2/repository}"; }

ompi_version() {
  # "Open MPI v4.1.4" -> 4.1.4 (also handles "4.1.6a1", "5.0.3rc1")
  ompi_info --version 2>/dev/null | sed -n 's/^Open MPI v\([0-9][0-9A-Za-z.]*\).*/\1/p' | head -n1
}
ompi_libdir() {
  ompi_info --path libdir --parsable 2>/dev/null | sed -n 's/^path:libdir:\(.*\)$/\1/p' | head -n1
}

FOR_TESTS=0
case "${1:-}" in
  --for-tests) FOR_TESTS=1 ;;
  --version|"") ;;
  *) echo "usage: setup/setup.sh [--version | --for-tests]" >&2; exit 2 ;;
esac

if [ "${1:-}" = "--version" ]; then
  v=$(ompi_version); [ -n "$v" ] || die "Open MPI not found (ompi_info is not on PATH); run 'make setup'"
  echo "$v"; exit 0
fi

# ---------------------------------------------------------------- system packages
APT_UPDATED=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # package scripts must not start system daemons (munge, slurm): the tests start their own
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1
  fi
  act "apt-get install $*"
  if ! apt-get install -y -q --no-install-recommends "$@" >/tmp/twobp-apt.log 2>&1; then
    if [ "$APT_UPDATED" = 0 ]; then
      act "apt-get update (package lists missing or stale)"
      apt-get update -q >/tmp/twobp-apt.log 2>&1 || { cat /tmp/twobp-apt.log >&2; die "apt-get update failed"; }
      APT_UPDATED=1
      apt-get install -y -q --no-install-recommends "$@" >/tmp/twobp-apt.log 2>&1 \
        || { tail -n 30 /tmp/twobp-apt.log >&2; die "apt-get install $* failed"; }
    else
      tail -n 30 /tmp/twobp-apt.log >&2; die "apt-get install $* failed"
    fi
  fi
  [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
}

java_major() {
  have java || { echo 0; return; }
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -n1
}

blas_present() {
  # JNIBLAS opens libblas.so.3; Debian points it at OpenBLAS through alternatives.
  # ldconfig lives in /sbin, which is not on a normal user's PATH.
  local cache
  cache=$( (command -v ldconfig >/dev/null && ldconfig -p || /sbin/ldconfig -p) 2>/dev/null )
  grep -q 'libopenblas' <<<"$cache" && grep -q 'libblas\.so\.3' <<<"$cache"
}

missing_pkgs=()
missing_why=()
need() { missing_pkgs+=("$1"); missing_why+=("$2"); }

jm=$(java_major); [ "${jm:-0}" -ge 17 ] 2>/dev/null || need openjdk-17-jdk-headless "JDK 17 or newer (found: ${jm:-none})"
have javac || need openjdk-17-jdk-headless "javac (a JDK, not only a JRE)"
have mvn   || need maven "Apache Maven"
have mpirun && have ompi_info || need openmpi-bin "Open MPI runtime (mpirun, ompi_info)"
if have ompi_info; then
  lib=$(ompi_libdir)
  [ -e "$lib/libmpi_java.so" ] || ls /usr/lib/*/libmpi_java.so >/dev/null 2>&1 || need libopenmpi-dev "Open MPI's Java JNI library (libmpi_java.so)"
else
  need libopenmpi-dev "Open MPI's libraries and Java JNI library"
fi
blas_present || need libopenblas0-pthread "OpenBLAS (native BLAS for CPU GEMM)"
if [ "$FOR_TESTS" = 1 ]; then
  have g++ || need g++ "a C++ compiler (tests only: builds the host emulator the CUDA kernels are tested on)"
  have munged && have mungekey || need munge "MUNGE, Slurm's authentication (tests only)"
  have slurmctld || need slurmctld "Slurm controller (tests only)"
  have slurmd    || need slurmd "Slurm node daemon (tests only)"
  have sbatch && have srun || need slurm-client "Slurm client commands (tests only)"
  have h5dump || need hdf5-tools "h5dump (tests only: checkpoint files are read back with HDF5's own tools)"
  /usr/bin/python3 -c 'import h5py' >/dev/null 2>&1 || need python3-h5py "h5py for Debian's python3 (tests only: logs and checkpoints are read back with it)"
fi

# de-duplicate
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | awk '!seen[$0]++')
  if is_root && have apt-get; then
    apt_install "${pkgs[@]}"
  else
    {
      echo "setup: these are missing:"
      for i in "${!missing_pkgs[@]}"; do echo "  - ${missing_why[$i]}  (Debian/Ubuntu package: ${missing_pkgs[$i]})"; done
      echo "setup: as root:  apt-get install ${pkgs[*]}"
      echo "setup: on a cluster: load the modules instead, e.g.  module load openjdk/17 maven openmpi openblas"
      echo "setup: (Open MPI must have Java bindings: ompi_info | grep 'Java bindings'; or set MPI_JAR=/path/mpi.jar)"
    } >&2
    exit 1
  fi
else
  say "JDK $(java_major), Maven, Open MPI $(ompi_version), OpenBLAS: present"
fi

# ---------------------------------------------------------------- mpi.jar
VER=$(ompi_version)
[ -n "$VER" ] || die "ompi_info did not report a version"
DEST="$(mvn_repo)/org/open-mpi/mpi/$VER/mpi-$VER.jar"
if [ -s "$DEST" ] && [ -z "${MPI_JAR:-}" ]; then
  say "Open MPI Java bindings: $DEST"
  exit 0
fi

install_jar() {
  act "installing $1 as org.open-mpi:mpi:$VER into the local Maven repository"
  mvn -B -ntp -q -Dstyle.color=never -Dmaven.repo.local="$(mvn_repo)" org.apache.maven.plugins:maven-install-plugin:3.1.3:install-file \
      -Dfile="$1" -DgroupId=org.open-mpi -DartifactId=mpi -Dversion="$VER" -Dpackaging=jar \
      -DgeneratePom=true >/dev/null || die "mvn install-file failed for $1"
  [ -s "$DEST" ] || die "mpi.jar did not arrive at $DEST"
}

# 1. the user names one
if [ -n "${MPI_JAR:-}" ]; then
  [ -s "$MPI_JAR" ] || die "MPI_JAR=$MPI_JAR does not exist"
  install_jar "$MPI_JAR"; exit 0
fi

# 2. Open MPI built with Java support ships its own (HPC modules, source builds)
lib=$(ompi_libdir)
for cand in "$lib/mpi.jar" "$lib/../lib/mpi.jar" /usr/share/java/mpi.jar; do
  if [ -s "$cand" ]; then install_jar "$cand"; exit 0; fi
done

# 3. Debian/Ubuntu: build it from the Java sources of the installed package's exact version
have dpkg-query || die "no mpi.jar found next to Open MPI ($lib) and this is not a Debian-based system:
  use an Open MPI built with --enable-mpi-java, or set MPI_JAR=/path/to/mpi.jar"
jni=$(readlink -f "$lib/libmpi_java.so" 2>/dev/null || true)
[ -n "$jni" ] && [ -e "$jni" ] || jni=$(readlink -f /usr/lib/*/libmpi_java.so | head -n1)
pkg=$(dpkg -S "$jni" 2>/dev/null | head -n1 | cut -d: -f1) || true
[ -n "$pkg" ] || die "cannot tell which Debian package provides $jni; set MPI_JAR=/path/to/mpi.jar"
src=$(dpkg-query -W -f='${source:Package}' "$pkg")
srcver=$(dpkg-query -W -f='${source:Version}' "$pkg")
act "building mpi.jar from Debian source package $src=$srcver (Open MPI $VER)"

work=$(mktemp -d "${TMPDIR:-/tmp}/twobp-mpijar.XXXXXX")
trap 'rm -rf "$work"' EXIT

has_deb_src() {
  grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
if ! has_deb_src; then
  is_root || die "no deb-src entries in /etc/apt/sources.list*, needed to fetch Open MPI's Java sources.
  As root: add 'deb-src' lines for your suites and run 'apt-get update' (or re-run 'make setup' as root);
  or set MPI_JAR=/path/to/mpi.jar (built from openmpi-$VER/ompi/mpi/java/java/*.java)"
  list=/etc/apt/sources.list.d/twobp-deb-src.list
  act "adding deb-src entries for the configured suites to $list"
  # every 'deb' line (one-line format) and every 'Types: deb' stanza (deb822) gets its deb-src twin
  {
    { grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } | sed 's/^deb /deb-src /'
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] || continue
      awk 'BEGIN{RS="";FS="\n"} /(^|\n)Types:[^\n]*deb/ {
             uri="";suites="";comps="";signed="";
             for(i=1;i<=NF;i++){ if($i~/^URIs:/){sub(/^URIs: */,"",$i);uri=$i}
               else if($i~/^Suites:/){sub(/^Suites: */,"",$i);suites=$i}
               else if($i~/^Components:/){sub(/^Components: */,"",$i);comps=$i}
               else if($i~/^Signed-By:/){sub(/^Signed-By: */,"",$i);signed=$i} }
             split(uri,us," "); split(suites,ss," ");
             for(u in us) for(s in ss) printf "deb-src %s%s %s %s\n", (signed!=""?"[signed-by="signed"] ":""), us[u], ss[s], comps }' "$f"
    done
  } | awk '!seen[$0]++' > "$list"
  [ -s "$list" ] || die "could not derive deb-src entries from the apt sources; add them by hand"
  apt-get update -q >/tmp/twobp-apt.log 2>&1 || { tail -n 20 /tmp/twobp-apt.log >&2; die "apt-get update failed after adding deb-src entries"; }
fi

( cd "$work" && apt-get source -q --download-only "$src=$srcver" >"$work/apt-source.log" 2>&1 ) || {
  if is_root && [ "$APT_UPDATED" = 0 ]; then
    apt-get update -q >/tmp/twobp-apt.log 2>&1 || true
    ( cd "$work" && apt-get source -q --download-only "$src=$srcver" >"$work/apt-source.log" 2>&1 )
  else false; fi
} || { tail -n 20 "$work/apt-source.log" >&2; die "apt-get source $src=$srcver failed"; }

orig=$(ls "$work"/*.orig.tar.* 2>/dev/null | head -n1)
[ -n "$orig" ] || die "no upstream tarball in the source package $src=$srcver"
tar -xf "$orig" -C "$work" --wildcards '*/ompi/mpi/java/java/*.java'
# Debian patches that touch the Java sources must be applied too
deb=$(ls "$work"/*.debian.tar.* 2>/dev/null | head -n1)
if [ -n "$deb" ]; then
  tar -xf "$deb" -C "$work"
  top=$(ls -d "$work"/*/ompi/mpi/java/java | head -n1); top=${top%/ompi/mpi/java/java}
  if [ -f "$work/debian/patches/series" ]; then
    while read -r p _; do
      case "$p" in ''|'#'*) continue;; esac
      if grep -q 'ompi/mpi/java/java/' "$work/debian/patches/$p" 2>/dev/null; then
        act "applying Debian patch $p to the Java sources"
        (cd "$top" && patch -p1 -s --no-backup-if-mismatch < "$work/debian/patches/$p") || die "patch $p failed"
      fi
    done < "$work/debian/patches/series"
  fi
fi
srcs=$(ls -d "$work"/*/ompi/mpi/java/java | head -n1)
mkdir -p "$work/classes"
javac --release 8 -nowarn -encoding UTF-8 -d "$work/classes" "$srcs"/*.java 2>"$work/javac.log" \
  || { tail -n 20 "$work/javac.log" >&2; die "compiling Open MPI's Java sources failed"; }
printf 'Implementation-Title: Open MPI Java bindings\nImplementation-Version: %s\n' "$VER" > "$work/manifest.txt"
jar cfm "$work/mpi.jar" "$work/manifest.txt" -C "$work/classes" .
install_jar "$work/mpi.jar"
act "Open MPI Java bindings ready: $DEST"
