import CInotifyTools
import RayBridgeClients
import RayBridgeCore

/// What a subscriber of `InotifyThread` receives for its directory.
public enum InotifyNotification: Sendable, Equatable {
    /// The watch is in place: read the directory now, later changes arrive as events.
    case watching
    case event(InotifyEvent)
    /// Events may have been lost (kernel queue overflow, or the library was restarted): rescan.
    case overflow
    /// The directory could not be watched, or was deleted or moved. The stream ends after this;
    /// subscribe again to retry.
    case watchLost
}

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

/// The inotify event bits this project uses (values from `<sys/inotify.h>`).
public struct InotifyMask: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let create = InotifyMask(rawValue: UInt32(IN_CREATE))
    public static let delete = InotifyMask(rawValue: UInt32(IN_DELETE))
    public static let movedFrom = InotifyMask(rawValue: UInt32(IN_MOVED_FROM))
    public static let movedTo = InotifyMask(rawValue: UInt32(IN_MOVED_TO))
    public static let closeWrite = InotifyMask(rawValue: UInt32(IN_CLOSE_WRITE))
    public static let attrib = InotifyMask(rawValue: UInt32(IN_ATTRIB))
    public static let deleteSelf = InotifyMask(rawValue: UInt32(IN_DELETE_SELF))
    public static let moveSelf = InotifyMask(rawValue: UInt32(IN_MOVE_SELF))
    public static let ignored = InotifyMask(rawValue: UInt32(IN_IGNORED))
    public static let queueOverflow = InotifyMask(rawValue: UInt32(IN_Q_OVERFLOW))
    public static let onlyDirectory = InotifyMask(rawValue: UInt32(IN_ONLYDIR))

    /// What a watched directory is watched for.
    public static let directoryWatch: InotifyMask = [
        .create, .delete, .movedFrom, .movedTo, .closeWrite, .attrib, .deleteSelf, .moveSelf,
    ]
    /// The watch on the directory itself is gone or no longer refers to that path.
    public static let watchEnded: InotifyMask = [.ignored, .deleteSelf, .moveSelf]
}
