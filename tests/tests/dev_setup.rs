//! The quick start's install logic: `scripts/find-libclang` and `./dev.sh deps`, run with the
//! machine's own libclang hidden, as on a fresh Debian machine that has only `libclang-cpp`.
//!
//! Regression for issue 14: dev.sh used to accept any file starting with "libclang", so a fresh
//! machine's `libclang-cpp.so.14` stopped it from installing libclang-dev, and the build then
//! failed in clang-sys.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn touch(path: &Path) {
    std::fs::write(path, b"").expect("write test file");
}

/// Runs `scripts/find-libclang` over exactly `dirs`.
fn find_libclang(dirs: &[&Path]) -> Output {
    Command::new(repo_root().join("scripts/find-libclang"))
        .args(dirs)
        .output()
        .expect("run scripts/find-libclang")
}

fn found(output: &Output) -> Option<String> {
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn a_fresh_machines_libclang_cpp_is_not_libclang() {
    let dir = tempfile::tempdir().expect("temp dir");
    // What Debian bookworm has before libclang-dev: the C++ API and LLVM itself.
    for name in [
        "libclang-cpp.so.14",
        "libclang-cpp.so",
        "libLLVM-14.so.1",
        "libclang.so.1",
        "libclang-14.so.1",
    ] {
        touch(&dir.path().join(name));
    }
    let output = find_libclang(&[dir.path()]);
    assert_eq!(found(&output), None, "{output:?}");
}

#[test]
fn the_files_clang_sys_links_are_found() {
    for name in ["libclang.so", "libclang-14.so", "libclang-14.0.6.so"] {
        let dir = tempfile::tempdir().expect("temp dir");
        touch(&dir.path().join(name));
        let want = dir.path().join(name).display().to_string();
        assert_eq!(found(&find_libclang(&[dir.path()])), Some(want), "{name}");
    }
}

#[test]
fn a_dangling_symlink_is_not_a_library() {
    let dir = tempfile::tempdir().expect("temp dir");
    symlink(dir.path().join("libclang-14.so.1"), dir.path().join("libclang.so")).expect("symlink");
    assert_eq!(found(&find_libclang(&[dir.path()])), None);
    // Once the target exists (libclang1-14 installed), the dev symlink resolves.
    touch(&dir.path().join("libclang-14.so.1"));
    assert_eq!(
        found(&find_libclang(&[dir.path()])),
        Some(dir.path().join("libclang.so").display().to_string())
    );
}

#[test]
fn every_folder_is_searched() {
    let empty = tempfile::tempdir().expect("temp dir");
    let llvm = tempfile::tempdir().expect("temp dir");
    touch(&llvm.path().join("libclang.so"));
    let output = find_libclang(&[empty.path(), Path::new("/nonexistent/sluice-test"), llvm.path()]);
    assert_eq!(
        found(&output),
        Some(llvm.path().join("libclang.so").display().to_string())
    );
}

/// A machine for `./dev.sh deps`: a library folder standing in for the system's, and an
/// `apt-get` on PATH that logs its arguments and, on `install`, puts libclang where bindgen
/// would find it (what installing libclang-dev does).
struct FakeMachine {
    root: tempfile::TempDir,
}

impl FakeMachine {
    /// `apt_works`: whether the fake install really provides the library.
    fn new(libraries: &[&str], apt_works: bool) -> FakeMachine {
        let root = tempfile::tempdir().expect("temp dir");
        let lib = root.path().join("lib");
        let bin = root.path().join("bin");
        std::fs::create_dir(&lib).expect("lib dir");
        std::fs::create_dir(&bin).expect("bin dir");
        for name in libraries {
            touch(&lib.join(name));
        }
        let apt = bin.join("apt-get");
        let provides = if apt_works {
            format!("touch {}/libclang-14.so", lib.display())
        } else {
            ":".to_string()
        };
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> {log}\ncase \" $* \" in *\" install \"*) {provides} ;; esac\n",
            log = root.path().join("apt.log").display(),
        );
        std::fs::write(&apt, script).expect("write fake apt-get");
        std::fs::set_permissions(&apt, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeMachine { root }
    }

    fn deps(&self) -> Output {
        let path = format!(
            "{}:{}",
            self.root.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .arg(repo_root().join("dev.sh"))
            .arg("deps")
            .env("PATH", path)
            .env("SLUICE_LIBCLANG_DIRS", self.root.path().join("lib"))
            .env_remove("LIBCLANG_PATH")
            .output()
            .expect("run dev.sh deps")
    }

    fn apt_calls(&self) -> String {
        std::fs::read_to_string(self.root.path().join("apt.log")).unwrap_or_default()
    }
}

#[test]
fn dev_sh_installs_libclang_dev_when_only_libclang_cpp_is_there() {
    if !is_root() {
        // dev.sh prefixes apt-get with sudo when not root; the fake covers apt-get only.
        eprintln!("skipped: needs root, as on the project's machines");
        return;
    }
    let machine = FakeMachine::new(&["libclang-cpp.so.14"], true);
    let output = machine.deps();
    assert!(output.status.success(), "{output:?}");
    let calls = machine.apt_calls();
    assert!(calls.contains("update"), "{calls}");
    let install = calls.lines().find(|l| l.contains("install")).unwrap_or_default();
    assert!(install.contains("libclang-dev"), "{calls}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("libclang-14.so"),
        "{output:?}"
    );
}

#[test]
fn dev_sh_installs_nothing_when_libclang_is_there() {
    let machine = FakeMachine::new(&["libclang-cpp.so.14", "libclang-14.so"], true);
    let output = machine.deps();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(machine.apt_calls(), "");
}

#[test]
fn dev_sh_stops_with_a_reason_when_the_install_did_not_help() {
    if !is_root() {
        eprintln!("skipped: needs root, as on the project's machines");
        return;
    }
    let machine = FakeMachine::new(&["libclang-cpp.so.14"], false);
    let output = machine.deps();
    assert!(!output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("LIBCLANG_PATH"),
        "{output:?}"
    );
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
