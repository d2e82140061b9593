import RayBridgeClients
import RayBridgeCore

/// One inotify event, copied out of the library's static buffer.
public struct InotifyEvent: Sendable, Equatable {
    public var wd: Int32
    public var mask: InotifyMask
    public var cookie: UInt32
    /// Name of the entry inside the watched directory; empty for events about the directory itself.
    public var name: String
    /// When the inotify thread read the event.
    public var observedAt: ContinuousClock.Instant
}
