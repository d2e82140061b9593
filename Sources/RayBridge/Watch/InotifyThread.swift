import Logging
import RayBridgeClients
import RayBridgeCore
import Synchronization
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The process's single user of libinotifytools. The library keeps all its state in globals and is not
/// thread-safe, so one dedicated thread makes every call (see `InotifyWorker`). It sleeps in
/// `inotifytools_next_event` with no timeout; callers hand it work under a mutex and wake it by creating
/// a file in a private directory it also watches, so an idle process has no wake-ups at all.
public final class InotifyThread: Sendable {
    public static let shared = InotifyThread()

    let state = Mutex(InotifyThreadState())
    let wakeDirectory: String
    /// Where wake-up directories of earlier processes may be: swept once, before ours is made.
    let wakeBases: [String]
    let logger = Logger(label: "raybridge.inotify")

    /// Where the wake-up directory goes when TMPDIR (default /tmp) is not writable: a read-only root
    /// filesystem without a /tmp emptyDir would otherwise leave the thread polling once a second. The
    /// CLI names a hidden directory in the status volume, which is writable by contract; set it before
    /// the first use of `shared`.
    public static let fallbackWakeBase = Mutex<String?>(nil)

    private init() {
        let preferred = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var base = preferred
        let fallback = Self.fallbackWakeBase.withLock { $0 }
        if access(preferred, W_OK | X_OK) != 0, let fallback {
            // Exists already after a restart; any other failure shows when the wake directory is made.
            try? FileSystemCalls.makeDirectory(fallback, permissions: .ownerReadWriteExecute)
            base = fallback
        }
        wakeDirectory = "\(base)/raybridge-inotify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // Both: an earlier container of the pod may have had another /tmp.
        wakeBases = [preferred] + (fallback.map { $0 == preferred ? [] : [$0] } ?? [])
        // Processes rarely call stop(); don't leave one directory behind per process. A killed one
        // does: the next start sweeps it (`InotifyWakeDirectory`).
        atexit {
            InotifyThread.shared.state.withLock { $0.exiting = true }
            InotifyWakeDirectory.remove(InotifyThread.shared.wakeDirectory)
        }
    }

    /// Watches `directory` (not recursively). The first element is `.watching` or `.watchLost`.
    /// Terminating the stream (or cancelling the task iterating it) removes the subscription.
    public func subscribe(directory: String) -> AsyncStream<InotifyNotification> {
        let id = state.withLock { $0.next() }
        let (stream, continuation) = AsyncStream.makeStream(of: InotifyNotification.self)
        continuation.onTermination = { [self] _ in enqueue(.unsubscribe(id: id)) }
        enqueue(.subscribe(id: id, directory: directory, continuation: continuation))
        return stream
    }

    /// Ends every subscription and the thread, and releases the library. A later `subscribe` starts anew.
    public func stop() {
        enqueue(.stop)
    }

    /// Whether the thread is alive, for the liveness probe.
    public var isRunning: Bool {
        state.withLock { $0.running }
    }

    /// Canonical paths currently watched.
    func watchedDirectories() -> Set<String> {
        state.withLock { $0.watchedDirectories }
    }

    private func enqueue(_ request: InotifyRequest) {
        enum Action {
            case none, start
            case wake(String)
        }
        let action: Action = state.withLock { state in
            if !state.running {
                // Nothing to stop or unsubscribe when no thread is running.
                guard case .subscribe = request else { return .none }
                state.requests.append(request)
                state.running = true
                return .start
            }
            state.requests.append(request)
            // A unique name per wake-up: an existing name would create no event, and the request could wait.
            return .wake("wake-\(state.next())")
        }
        switch action {
        case .none:
            break
        case .start:
            Self.detachThread { [self] in InotifyWorker(owner: self).run() }
        case .wake(let name):
            do {
                try touch(name)
            } catch {
                // Debug only: without a watched wake directory the thread polls every second, and it
                // has already said why at error level.
                logger.debug("cannot wake the inotify thread", metadata: ["error": "\(error)"])
            }
        }
    }

    /// A detached POSIX thread running `body`, as Foundation's `Thread` ran it (FoundationEssentials
    /// has no threads).
    private static func detachThread(_ body: @escaping @Sendable () -> Void) {
        final class Body {
            let run: @Sendable () -> Void
            init(_ run: @escaping @Sendable () -> Void) { self.run = run }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let status = pthread_create(
            &thread, &attributes,
            { context in
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        // Fails only without memory or at the process's thread limit; Thread trapped then too.
        precondition(status == 0, "pthread_create failed (\(status))")
    }

    /// Creates and removes `name` in the wake directory; the CREATE event wakes the thread.
    func touch(_ name: String) throws {
        let path = wakeDirectory + "/" + name
        let fd = try FileDescriptor.open(path: path, .readOnly, options: .create, permissions: .ownerReadWrite)
        try? fd.close()
        try? FileSystemCalls.removeFile(path)
    }

    /// Requests up to and including the first `.stop`, which must be acted on before anything after it.
    func takeRequests() -> [InotifyRequest] {
        state.withLock { state in
            let end =
                state.requests.firstIndex { if case .stop = $0 { true } else { false } }
                .map { $0 + 1 } ?? state.requests.count
            defer { state.requests.removeFirst(end) }
            return Array(state.requests[..<end])
        }
    }

    /// Called by a thread that has released the library; false if it must go on because subscriptions
    /// arrived meanwhile.
    func finishStopping() -> Bool {
        state.withLock { state in
            state.requests.removeAll { if case .unsubscribe = $0 { true } else { false } }
            state.watchedDirectories = []
            if state.requests.isEmpty {
                state.running = false
                return true
            }
            return false
        }
    }
}

/// Work handed to the inotify thread, which alone may call the library.
enum InotifyRequest: Sendable {
    case subscribe(id: UInt64, directory: String, continuation: AsyncStream<InotifyNotification>.Continuation)
    case unsubscribe(id: UInt64)
    case stop
}

/// Shared between callers and the inotify thread, always under `InotifyThread`'s mutex.
struct InotifyThreadState: Sendable {
    var requests: [InotifyRequest] = []
    var running = false
    var counter: UInt64 = 0
    /// Set at process exit: the wake directory is removed on purpose and must not be recreated.
    var exiting = false
    /// The wake directories of dead processes are swept once per process, by the first thread.
    var swept = false
    /// Published by the thread after each change, for tests and diagnostics.
    var watchedDirectories: Set<String> = []

    mutating func next() -> UInt64 {
        counter += 1
        return counter
    }
}
