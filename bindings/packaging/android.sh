#!/usr/bin/env bash
# Android AAR for BEAT (not run on the development machine: it has no Android targets or NDK).
#
# Needs: rustup targets aarch64-linux-android armv7-linux-androideabi x86_64-linux-android,
# cargo-ndk (cargo install cargo-ndk), the Android NDK (ANDROID_NDK_HOME), a JDK and Gradle.
#
# 1. builds libbeat_ffi.so per ABI with the size profile (`mobile` in the workspace
#    Cargo.toml) into jniLibs/<abi>/;
# 2. generates the Kotlin bindings for Android (JNA from the AAR `net.java.dev.jna:jna@aar`;
#    uniffi's `android = true` generation, which uses android's Cleaner);
# 3. lays out an Android library module (build.gradle.kts below) that Gradle turns into an AAR.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-target/android}"
mkdir -p "$OUT/src/main/jniLibs" "$OUT/src/main/kotlin"
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$OUT/src/main/jniLibs" \
  build --profile mobile -p beat-ffi
cargo build --release --manifest-path tools/uniffi-bindgen/Cargo.toml --target-dir target/uniffi-bindgen
cat > "$OUT/uniffi-android.toml" <<'TOML'
[bindings.kotlin]
package_name = "org.beat.ffi"
cdylib_name = "beat_ffi"
android = true
android_cleaner = true
TOML
target/uniffi-bindgen/release/uniffi-bindgen generate "$OUT/src/main/jniLibs/arm64-v8a/libbeat_ffi.so" \
  -l kotlin -c "$OUT/uniffi-android.toml" -o "$OUT/src/main/kotlin"
cp bindings/kotlin/src/main/kotlin/org/beat/ffi/Commits.kt "$OUT/src/main/kotlin/org/beat/ffi/"
cat > "$OUT/build.gradle.kts" <<'GRADLE'
plugins { id("com.android.library"); kotlin("android") }
android {
    namespace = "org.beat.ffi"
    compileSdk = 35
    defaultConfig { minSdk = 26 }
}
dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}
GRADLE
echo "Android library module in $OUT: add it to your Gradle build (include(\":beat\")), or run gradle assembleRelease there for the AAR"
