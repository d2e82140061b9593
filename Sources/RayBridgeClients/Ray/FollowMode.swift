import RayBridgeCore

/// What a `DriverLogFollower` is for.
public enum FollowMode: Sendable, Equatable {
    /// Every byte of the log from `offset` on, exactly, ending once the run is over and its log
    /// complete (shipping).
    case exact(from: Int64)
    /// Only the end of the run, noticed quickly: the log is followed from its last line as a sign of
    /// life, no bytes are handed on, and the sequence ends right after `.runEnded`.
    case endOnly
}
