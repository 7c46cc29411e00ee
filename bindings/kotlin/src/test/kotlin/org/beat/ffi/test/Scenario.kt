// The SDK scenario on the JVM (the same as bindings/python/tests): four members in one process
// over loopback with a Kotlin ConsensusApp, 200 transactions, the same state everywhere; a
// member closed and reopened from its data dir catching up; a member paused and resumed; every
// error path as a typed exception; start/close in a loop leaves no threads behind.
// Prints `ok <check>` or `FAIL <check>: <why>` per check; exits non-zero on any failure.
package org.beat.ffi.test

import java.net.ServerSocket
import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import kotlin.system.exitProcess
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.beat.ffi.*

/** A shared notebook: `set <key> <value>` transactions. */
open class Notes : App {
    val state = ConcurrentHashMap<String, String>()
    @Volatile var applyThread: Long = -1
    @Volatile var next: ULong = 0uL
    val outOfOrder = java.util.Collections.synchronizedList(mutableListOf<Pair<ULong, ULong>>())

    override fun apply(epoch: ULong, transactions: List<ByteArray>) {
        applyThread = Thread.currentThread().id
        if (epoch != next) outOfOrder.add(next to epoch)
        next = epoch + 1uL
        for (tx in transactions) {
            val parts = String(tx).split(" ", limit = 3)
            if (parts.size == 3 && parts[0] == "set") state[parts[1]] = parts[2]
        }
    }

    override fun snapshot(): ByteArray =
        (listOf("#next=$next") + state.entries.sortedBy { it.key }.map { "${it.key}=${it.value}" })
            .joinToString("\n").toByteArray()

    override fun restore(snapshot: ByteArray) {
        state.clear()
        val lines = String(snapshot).split("\n").filter { it.isNotEmpty() }
        next = lines.first().removePrefix("#next=").toULong()
        for (line in lines.drop(1)) {
            val kv = line.split("=", limit = 2)
            if (kv.size != 2) throw AppException.Refused("not a snapshot line: $line")
            state[kv[0]] = kv[1]
        }
    }

    override fun validate(transaction: ByteArray) {
        if (!String(transaction).startsWith("set ")) throw AppException.Refused("a note is `set <key> <value>`")
    }
}

var failures = 0

fun check(name: String, body: () -> Unit) {
    try {
        body()
        println("ok $name")
    } catch (e: Throwable) {
        failures++
        println("FAIL $name: $e")
        e.printStackTrace()
    }
}

fun ensure(cond: Boolean, what: () -> String) {
    if (!cond) throw AssertionError(what())
}

fun waitFor(what: String, timeoutMs: Long = 90_000, cond: () -> Boolean) {
    val end = System.currentTimeMillis() + timeoutMs
    while (!cond()) {
        if (System.currentTimeMillis() > end) throw AssertionError("timed out waiting for $what")
        Thread.sleep(50)
    }
}

inline fun <reified E : Throwable> expect(noinline body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing thrown")
}

fun freePorts(n: Int): List<Int> {
    val sockets = List(n) { ServerSocket(0) }
    return sockets.map { it.localPort }.also { sockets.forEach(ServerSocket::close) }
}

fun settings(c: Committee, i: Int, dir: Path, secret: KeySecret) = NodeSettings(
    dataDir = dir.toString(), clusterFile = c.clusterFile, keyFile = c.keyFiles[i], secret = secret, snapshotEvery = 8uL,
)

fun threads(): Int = Files.readAllLines(Path.of("/proc/self/status"))
    .first { it.startsWith("Threads:") }.split(Regex("\\s+"))[1].toInt()

fun main() {
    val n = 4
    val rng = SecureRandom()
    val secrets = List(n) { ByteArray(32).also(rng::nextBytes) }
    val ports = freePorts(n)
    val spec = CommitteeSpec("BEAT0", ports.map { "127.0.0.1:$it" })
    val committee = generateCommittee(spec, secrets.map { KeySecret.rawKey(it) })
    val tmp = Files.createTempDirectory("beat-ffi-kt")
    fun secret(i: Int) = KeySecret.rawKey(secrets[i])

    check("cluster info") {
        val info = clusterInfo(committee.clusterFile)
        ensure(info.n == 4u && info.f == 1u && info.variant == "BEAT0") { "$info" }
    }

    check("four members agree; restart, pause and resume") {
        val apps = MutableList(n) { Notes() }
        val flow = CommitFlow()
        val nodes = MutableList(n) { i ->
            BeatNode.start(settings(committee, i, tmp.resolve("n$i"), secret(i)), apps[i], if (i == 0) flow else null)
        }
        fun submit(range: IntRange, members: List<Int>) {
            for (k in range) {
                val node = nodes[members[k % members.size]]
                while (true) {
                    try { node.submit("set k$k v$k".toByteArray()); break } catch (e: BeatException.Refused) {
                        ensure("queue full" in e.message.orEmpty()) { "$e" }
                        Thread.sleep(50)
                    }
                }
            }
        }
        submit(0 until 200, listOf(0, 1, 2, 3))
        waitFor("200 notes everywhere") { apps.all { it.state.size == 200 } }
        waitFor("the same state everywhere") { apps.map { it.state.toSortedMap() }.toSet().size == 1 }
        // The Flow delivers commits, off the consensus thread.
        val first = runBlocking { withTimeout(30_000) { flow.commits.first() } }
        ensure(first.epoch == 0uL) { "first commit ${first.epoch}" }
        // Links count as up once a health check was answered: within a few seconds.
        waitFor("node 0 running", 30_000) { nodes[0].status().state == NodeState.Running }

        nodes[3].close()  // AutoCloseable: stop and free the native node
        submit(200 until 250, listOf(0, 1, 2))
        waitFor("250 at three") { (0..2).all { apps[it].state.size == 250 } }
        apps[3] = Notes()
        nodes[3] = BeatNode.start(settings(committee, 3, tmp.resolve("n3"), secret(3)), apps[3], null)
        submit(250 until 260, listOf(0, 1, 2, 3))
        waitFor("member 3 caught up") { apps[3].state.size == 260 }

        nodes[2].pause()
        ensure(nodes[2].status().state == NodeState.Paused) { "${nodes[2].status()}" }
        val e = expect<BeatException.Stopped> { nodes[2].submit("set paused 1".toByteArray()) }
        ensure("resume" in e.message.orEmpty()) { "$e" }
        submit(260 until 280, listOf(0, 1, 3))
        waitFor("280 at three") { listOf(0, 1, 3).all { apps[it].state.size == 280 } }
        nodes[2].resume()
        nodes[1].networkChanged()
        submit(280 until 290, listOf(0, 1, 2, 3))
        waitFor("290 everywhere") { apps.all { it.state.size == 290 } }
        waitFor("the same state again") { apps.map { it.state.toSortedMap() }.toSet().size == 1 }
        ensure(apps.all { it.outOfOrder.isEmpty() }) { "epochs out of order: ${apps.map { it.outOfOrder }}" }
        val refused = expect<BeatException.Refused> { nodes[0].submit("delete everything".toByteArray()) }
        ensure("a note is" in refused.message.orEmpty()) { "$refused" }
        nodes[0].stop()
        expect<BeatException.Stopped> { nodes[0].submit("set after 1".toByteArray()) }
        nodes.forEach { it.close() }
        flow.close()
    }

    check("error paths are typed with readable messages") {
        expect<BeatException.KeyFile> { BeatNode.start(settings(committee, 0, tmp.resolve("a"), secret(1)), Notes(), null) }
        val bad = settings(committee, 0, tmp.resolve("b"), secret(0)).copy(clusterFile = "nonsense".toByteArray())
        expect<BeatException.ClusterFile> { BeatNode.start(bad, Notes(), null) }
        val e = expect<BeatException.Config> {
            BeatNode.start(settings(committee, 0, tmp.resolve("c"), secret(0)).copy(dataDir = ""), Notes(), null)
        }
        ensure("data_dir" in e.message.orEmpty()) { "$e" }
        expect<BeatException.Config> {
            KeySecret.rawKey(ByteArray(5))
        }
        val pspec = CommitteeSpec("BEAT1", freePorts(n).map { "127.0.0.1:$it" })
        val pc = generateCommittee(pspec, List(n) { KeySecret.passphrase("member $it passphrase") })
        expect<BeatException.KeyFile> {
            BeatNode.start(settings(pc, 0, tmp.resolve("e"), KeySecret.passphrase("not it")), Notes(), null)
        }
        // The secret never shows in a log line.
        ensure(!KeySecret.passphrase("hunter2").toString().contains("hunter2")) { "toString shows the passphrase" }
    }

    check("a failing app stops its node with the reason; resume restarts it; re-entry is refused") {
        class Moody : Notes() {
            @Volatile var node: BeatNode? = null
            @Volatile var failedOnce = false
            val reentry = java.util.Collections.synchronizedList(mutableListOf<String>())
            override fun apply(epoch: ULong, transactions: List<ByteArray>) {
                node?.let { n ->
                    if (reentry.isEmpty()) {
                        try { n.submit("set from inside apply".toByteArray()); reentry.add("accepted") }
                        catch (e: BeatException.Refused) { reentry.add(e.message.orEmpty()) }
                    }
                }
                if (transactions.any { String(it) == "set fail now" } && !failedOnce) {
                    failedOnce = true
                    throw AppException.Refused("the disk is full")
                }
                super.apply(epoch, transactions)
            }
        }
        val apps = listOf(Notes(), Notes(), Notes(), Moody())
        val nodes = List(n) { BeatNode.start(settings(committee, it, tmp.resolve("m$it"), secret(it)), apps[it], null) }
        try {
            val moody = apps[3] as Moody
            moody.node = nodes[3]
            nodes[0].submit("set a 1".toByteArray())
            waitFor("a at member 3") { moody.state["a"] == "1" }
            ensure(moody.reentry.firstOrNull()?.contains("inside an App or CommitListener callback") == true) { "${moody.reentry}" }
            moody.node = null
            nodes[0].submit("set fail now".toByteArray())
            waitFor("member 3 stopped") { nodes[3].status().state is NodeState.Stopped }
            val reason = (nodes[3].status().state as NodeState.Stopped).reason
            ensure("the disk is full" in reason) { reason }
            nodes[3].resume()
            nodes[0].submit("set b 2".toByteArray())
            waitFor("member 3 back and caught up") { moody.state["b"] == "2" && moody.state["fail"] == "now" }
            ensure(moody.state.toSortedMap() == apps[0].state.toSortedMap()) { "states differ" }
        } finally {
            nodes.forEach { it.close() }
        }
    }

    check("start and close leave no threads behind") {
        val s = settings(committee, 0, tmp.resolve("loop"), secret(0))
        repeat(3) { BeatNode.start(s, KvApp(), CommitFlow()).use { } }
        Thread.sleep(500)
        val base = threads()
        repeat(20) { BeatNode.start(s, KvApp(), CommitFlow()).use { } }
        waitFor("threads back to the baseline", 10_000) { threads() <= base }
    }

    check("the built-in key-value app") {
        val kvs = List(n) { KvApp() }
        val nodes = List(n) { BeatNode.start(settings(committee, it, tmp.resolve("kv$it"), secret(it)), kvs[it], null) }
        for (k in 0 until 20) nodes[k % n].submit("set colour$k blue$k".toByteArray())
        waitFor("20 keys everywhere") { kvs.all { it.len() == 20uL } }
        ensure(kvs.map { it.get("colour7") }.toSet() == setOf("blue7")) { "values differ" }
        nodes.forEach { it.close() }
    }

    println(if (failures == 0) "kotlin: all checks passed" else "kotlin: $failures checks failed")
    exitProcess(if (failures == 0) 0 else 1)
}
