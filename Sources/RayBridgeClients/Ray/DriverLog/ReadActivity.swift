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

    private let state: Mutex<State>

    init(waitingSince: Instant) {
        state = Mutex(State(waitingSince: waitingSince))
    }

    var current: State { state.withLock { $0 } }

    func received() {
        state.withLock {
            $0.generation += 1
            $0.waitingSince = nil
        }
    }

    func waiting(since instant: Instant) {
        state.withLock { $0.waitingSince = instant }
    }
}
