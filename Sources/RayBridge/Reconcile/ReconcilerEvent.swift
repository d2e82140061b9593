import RayBridgeClients
import RayBridgeCore

/// Everything the reconciler reacts to, in the one stream its loop reads: the loop handles one
/// event at a time, so no decision ever interleaves with another.
enum ReconcilerEvent: Sendable {
    /// The kubelet swapped `..data` (or the first read at start).
    case configChanged(DirectorySnapshot)
    /// The directory watcher stopped: the sidecar is shutting down.
    case configEnded
    /// A `.sleep` is over; stale ones (an action replaced them) carry an old generation.
    case timerFired(generation: Int)
    /// The one Ray call in flight ended.
    case answered(RayAnswer)
    /// The driver-log follower's news: progress of a shipment, or the run's end.
    case followed(FollowEvent)
    /// The status directory refused a write; the backoff before trying again is over.
    case publishRetry
}
