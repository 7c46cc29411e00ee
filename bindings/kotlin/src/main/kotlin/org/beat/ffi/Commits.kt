// The idiomatic layer over the generated bindings (beat_ffi.kt): committed epochs as a
// Kotlin Flow.
package org.beat.ffi

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.receiveAsFlow

/** One committed epoch. */
class Commit(val epoch: ULong, val transactions: List<ByteArray>)

/**
 * A [CommitListener] whose commits arrive as a [Flow]: pass it to [BeatNode.start], collect
 * [commits] in a coroutine (e.g. `lifecycleScope`). Commits queue without bound until
 * collected; [close] ends the flow.
 */
class CommitFlow : CommitListener, AutoCloseable {
    private val channel = Channel<Commit>(Channel.UNLIMITED)

    /** The committed epochs, in order (after a restart, epochs after the latest snapshot again). */
    val commits: Flow<Commit> = channel.receiveAsFlow()

    override fun onCommit(epoch: ULong, transactions: List<ByteArray>) {
        channel.trySend(Commit(epoch, transactions))
    }

    override fun close() {
        channel.close()
    }
}
