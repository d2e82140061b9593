import NIOCore
import RayBridgeCore

/// What a `DriverLogFollower` tells its consumer.
public enum DriverLogEvent: Sendable, Equatable {
    /// The next bytes of the log, in order, never a byte twice (Ray's replays are skipped).
    case bytes(ByteBuffer)
    /// The run is over, told once. It may overtake bytes still queued, and bytes may follow it: the
    /// rest of the log is read after the run ended. The sequence ends when the log is complete.
    case runEnded(RayJobDetails)
    /// A check found the run not over yet: news for whoever would otherwise poll Ray itself.
    case runGoesOn(RayJobDetails)
    /// Reading the log failed; the follower tries again after a backoff. For the status and logs.
    case interrupted(String)
}
