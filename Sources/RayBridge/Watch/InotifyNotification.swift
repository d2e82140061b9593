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
