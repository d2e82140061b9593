import RayBridgeCore

/// What a `DriverLogFollower` is for.
public enum FollowMode: Sendable, Equatable {
    /// Every byte of the log from `offset` on, exactly, ending once the run is over and its log
    /// complete (shipping).
    case exact(from: Int64)
    /// Only the end of the run, noticed quickly: Ray is asked every `FollowTiming.checkEvery`, the
    /// log is not read (a stream only as a sign of life cost Ray more than the checks it saved), and
    /// the sequence ends right after `.runEnded`.
    case endOnly
}
