import CInotifyTools
import RayBridgeClients
import RayBridgeCore

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
