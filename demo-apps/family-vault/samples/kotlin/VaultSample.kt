// The family vault from a Kotlin app, through the mobile SDK (beat-ffi): what an Android app's
// storage screen calls, here for four phones in one JVM on loopback. Each call blocks (it may
// fetch pieces from the other phones): on Android, call them from Dispatchers.IO.
//
//   set up a family -> every phone joins -> start -> upload -> list -> download on another phone
//   -> new version -> versions -> delete -> restore -> health -> stop
//
// Compiled and run by scripts/bindings.sh against the freshly built library; prints
// `ok <step>` per step and exits non-zero on a failure.
package org.beat.vault.sample

import java.net.ServerSocket
import java.nio.file.Files
import kotlin.system.exitProcess
import org.beat.ffi.*

fun step(name: String, ok: Boolean) {
    println(if (ok) "ok vault $name" else "FAIL vault $name")
    if (!ok) exitProcess(1)
}

/** `count` consecutive free loopback ports, below Linux's range for outgoing connections. */
fun freePorts(count: Int): Int {
    repeat(100) {
        val base = 20000 + java.util.Random().nextInt(12000)
        val free = (base until base + count).all { p -> runCatching { ServerSocket(p).close() }.isSuccess }
        if (free) return base
    }
    error("no free ports")
}

fun main() {
    val dir = Files.createTempDirectory("vault-sample")
    val names = listOf("Mom", "Dad", "Kid", "Grandma")
    // 1. One phone (or a computer) sets up the family; each phone gets its bundle.
    val bundles = vaultInit(
        dir.resolve("family").toString(),
        VaultFamilySpec(
            family = "The Examples", members = names, hosts = listOf("127.0.0.1"),
            basePort = freePorts(3 * names.size).toUShort(), storageVariant = "beat3",
            capacityBytes = 1uL shl 30, heartbeatMs = 500uL,
        ),
    )
    step("init: ${bundles.size} bundles", bundles.size == 4)
    val phones = bundles.mapIndexed { i, b ->
        val home = dir.resolve("phone$i").toString()
        vaultJoin(b, home)
        FamilyVault.start(home)
    }
    step("four phones started", phones.size == 4)

    // 2. Mom uploads a photo; the write is queued at once and commits when the family agrees.
    val photo = ByteArray(300_000) { (it * 31 % 251).toByte() }
    val op = phones[0].put("/Photos/beach.jpg", photo, null)
    val done = phones[0].awaitOutcome(op, 60_000uL)
    step("upload committed as v${done?.version}", done != null && done.refused == null && !done.conflict)

    // 3. Dad's phone lists it and downloads it (pieces from any two phones, checked by SHA-256).
    var listed: List<VaultFile> = emptyList()
    for (i in 0 until 200) {
        listed = phones[1].list()
        if (listed.isNotEmpty()) break
        Thread.sleep(50)
    }
    step("listed on Dad's phone", listed.map { it.path } == listOf("/Photos/beach.jpg"))
    step("downloaded on Dad's phone", phones[1].get("/Photos/beach.jpg", null).contentEquals(photo))
    step("a range read", phones[1].getRange("/Photos/beach.jpg", 1000uL, 10uL).contentEquals(photo.copyOfRange(1000, 1010)))

    // 4. Dad edits it (naming the version he saw), then looks at the versions.
    val v1 = listed[0].version
    val edit = phones[1].awaitOutcome(phones[1].put("/Photos/beach.jpg", "cropped".toByteArray(), v1), 60_000uL)
    step("new version", edit?.version != null && edit.version!! > v1)
    val versions = phones[1].versions("/Photos/beach.jpg")
    step("versions listed (${versions.size})", versions.size == 2 && versions[0].current && !versions[1].current)

    // 5. Kid deletes it by mistake; Grandma restores the first version from the trash.
    for (i in 0 until 200) { if (phones[2].list().any { it.version == edit!!.version }) break; Thread.sleep(50) }
    val rm = phones[2].awaitOutcome(phones[2].remove("/Photos/beach.jpg", edit!!.version!!), 60_000uL)
    step("moved to the trash", rm != null && rm.refused == null)
    for (i in 0 until 200) { if (phones[3].list().isEmpty()) break; Thread.sleep(50) }
    val back = phones[3].awaitOutcome(phones[3].restore("/Photos/beach.jpg", v1), 60_000uL)
    step("restored from the trash", back != null && back.refused == null && phones[3].get("/Photos/beach.jpg", null).contentEquals(photo))

    // 6. A bad request is a typed exception with a message that says what to fix.
    val refused = runCatching { phones[0].put("no-leading-slash", ByteArray(1), null) }.exceptionOrNull()
    step("bad path refused: ${refused?.message}", refused is BeatException.Refused)

    // 7. The health screen.
    var health = phones[0].health()
    for (i in 0 until 400) {
        if (health.allSafe) break
        Thread.sleep(50)
        health = phones[0].health()
    }
    step("health: ${health.status}", health.allSafe && health.phones.size == 4)

    phones.forEach { it.stop() }
    step("stopped", runCatching { phones[0].list() }.exceptionOrNull() is BeatException.Stopped)
    dir.toFile().deleteRecursively()
}
