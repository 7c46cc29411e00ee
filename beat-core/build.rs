//! Records the git revision for `beat --version` (`BEAT_BUILD_REV` overrides it, e.g. in a
//! container build without the repository's history; `unknown` when neither is there).
fn main() {
    println!("cargo:rerun-if-env-changed=BEAT_BUILD_REV");
    let rev = std::env::var("BEAT_BUILD_REV").ok().filter(|r| !r.trim().is_empty()).or_else(|| {
        let git = std::path::Path::new("../.git");
        if git.join("HEAD").exists() {
            println!("cargo:rerun-if-changed=../.git/HEAD");
            println!("cargo:rerun-if-changed=../.git/refs/heads");
        }
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    });
    println!("cargo:rustc-env=BEAT_GIT_REV={}", rev.unwrap_or_else(|| "unknown".into()));
}
