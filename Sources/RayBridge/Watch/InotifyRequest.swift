import RayBridgeClients
import RayBridgeCore

/// Work handed to the inotify thread, which alone may call the library.
enum InotifyRequest: Sendable {
    case subscribe(id: UInt64, directory: String, continuation: AsyncStream<InotifyNotification>.Continuation)
    case unsubscribe(id: UInt64)
    case stop
}
