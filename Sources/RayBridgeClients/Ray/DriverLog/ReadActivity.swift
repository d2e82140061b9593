import RayBridgeCore
import Synchronization

/// Whether a stream's reader is waiting for Ray, and since when. The log is quiet when the reader
/// has waited for bytes long enough; a reader held up by a slow consumer is not quiet, it is
/// backpressured. Shared by the reader and the end check of one read.
final class ReadActivity<Instant: InstantProtocol>: Sendable {
    struct State: Equatable {
        /// Bumped by every chunk, so that two chunks at one instant still count as activity.
        var generation = 0
        /// Nil while the reader hands a chunk on.
        var waitingSince: Instant?
    }

    private struct Guarded {
        var state: State
        /// The end check waiting for a chunk (`chunk(after:)`): there is one per read.
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let guarded: Mutex<Guarded>

    init(waitingSince: Instant) {
        guarded = Mutex(Guarded(state: State(waitingSince: waitingSince)))
    }

    var current: State { guarded.withLock { $0.state } }

    func received() {
        let waiter = guarded.withLock { guarded in
            guarded.state.generation += 1
            guarded.state.waitingSince = nil
            defer { guarded.waiter = nil }
            return guarded.waiter
        }
        waiter?.resume()
    }

    func waiting(since instant: Instant) {
        guarded.withLock { $0.state.waitingSince = instant }
    }

    /// Returns once a chunk came after `seen` (at once if one did already), or when cancelled.
    func chunk(after seen: State) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = guarded.withLock {
                    // Cancelled before the handler could find a waiter: it has run already.
                    if $0.state.generation != seen.generation || Task.isCancelled { return true }
                    $0.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = guarded.withLock { guarded in
                defer { guarded.waiter = nil }
                return guarded.waiter
            }
            waiter?.resume()
        }
    }
}
