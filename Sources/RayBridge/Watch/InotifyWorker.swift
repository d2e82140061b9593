import CInotifyTools
import RayBridgeClients
import RayBridgeCore
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Everything that runs on the inotify thread. Not Sendable on purpose: it is created on that thread and
/// never leaves it, which is what makes the calls into the global, thread-unsafe library safe.
final class InotifyWorker {
    private struct Watch {
        var path: String
        var subscribers: [UInt64: AsyncStream<InotifyNotification>.Continuation]
    }

    private let owner: InotifyThread
    private var ready = false
    private var wakeWD: Int32 = -1
    private var watches: [Int32: Watch] = [:]
    /// The library keeps already-read events in a static buffer that `inotifytools_cleanup()` does not
    /// clear, so after a restart it first returns stale events whose wds mean nothing now. They are
    /// dropped until this marker, created in the wake directory right after the restart, comes back.
    private var fence: String?
    private var rescanAfterFence = false
    /// Holds the wake directory's lock (`InotifyWakeDirectory`) from its creation to its removal.
    private var wakeLock: FileDescriptor?

    init(owner: InotifyThread) {
        self.owner = owner
    }

    func run() {
        nameThread()
        sweepWakeDirectories()
        ready = start()
        while true {
            var stopping = false
            for request in owner.takeRequests() {
                switch request {
                case .subscribe(let id, let directory, let continuation):
                    subscribe(id: id, directory: directory, continuation: continuation)
                case .unsubscribe(let id):
                    unsubscribe(id: id)
                case .stop:
                    stopping = true
                }
            }
            if stopping {
                release()
                if owner.finishStopping() { return }
                ready = start()
                continue
            }
            guard ready else {
                // Only reached when the library cannot even initialize (e.g. out of inotify instances).
                sleep(1)
                ready = start()
                continue
            }
            // Without a wake directory, requests can only be noticed by polling.
            guard let raw = inotifytools_next_event(wakeWD >= 0 ? -1 : 1) else {
                let code = inotifytools_error()
                if code != 0 && code != EINTR {
                    let error = Self.libraryError("read", "inotify fd", code)
                    owner.logger.error("inotify read failed, restarting", metadata: ["error": "\(error)"])
                    restart()
                }
                continue
            }
            handle(copy(raw))
        }
    }

    /// Shows up in top -H and /proc. Thread.name does not reach the kernel on Linux, and
    /// pthread_setname_np is not visible to Swift without _GNU_SOURCE; the thread may write its own comm.
    /// Best effort: a thread without its name works the same.
    private func nameThread() {
        let path = "/proc/thread-self/comm"
        guard let fd = try? FileDescriptor.open(path: path, .writeOnly) else { return }
        _ = try? fd.writeAll("raybridge-inoti".utf8)  // the kernel keeps 15 bytes
        try? fd.close()
    }

    /// Wake directories that SIGKILLed sidecars left behind, once per process and before ours exists.
    private func sweepWakeDirectories() {
        let first = owner.state.withLock { state in
            defer { state.swept = true }
            return !state.swept
        }
        guard first else { return }
        for base in owner.wakeBases {
            let removed = InotifyWakeDirectory.sweep(base: base)
            if !removed.isEmpty {
                owner.logger.info("removed inotify wake directories of processes that are gone", metadata: ["paths": "\(removed)"])
            }
        }
    }

    /// The event and its name live in static storage that the next call overwrites.
    private func copy(_ raw: UnsafeMutablePointer<inotify_event>) -> InotifyEvent {
        let event = raw.pointee
        let name =
            event.len == 0
            ? ""
            : String(
                cString: UnsafeRawPointer(raw).advanced(by: MemoryLayout<inotify_event>.size)
                    .assumingMemoryBound(to: CChar.self))
        return InotifyEvent(
            wd: event.wd, mask: InotifyMask(rawValue: event.mask), cookie: event.cookie, name: name,
            observedAt: .now)
    }

    private func handle(_ event: InotifyEvent) {
        if let marker = fence {
            guard event.wd == wakeWD, event.name == marker else { return }
            fence = nil
            if rescanAfterFence {
                rescanAfterFence = false
                broadcast(.overflow)
            }
            return
        }
        if event.mask.contains(.queueOverflow) {
            owner.logger.warning("inotify queue overflowed, rescanning")
            broadcast(.overflow)
        } else if event.wd == wakeWD {
            if !event.mask.isDisjoint(with: .watchEnded), !owner.state.withLock({ $0.exiting }) {
                owner.logger.warning("inotify wake directory vanished, restarting", metadata: ["path": "\(owner.wakeDirectory)"])
                restart()
            }
        } else if let watch = watches[event.wd] {
            if event.mask.isDisjoint(with: .watchEnded) {
                for continuation in watch.subscribers.values {
                    continuation.yield(.event(event))
                }
            } else {
                watches[event.wd] = nil
                for continuation in watch.subscribers.values {
                    continuation.yield(.watchLost)
                    continuation.finish()
                }
                // The library keeps the dead watch (it ignores IN_IGNORED) and would confuse it with a new
                // watch on the same path: start it over.
                restart()
            }
        }
    }

    private func subscribe(id: UInt64, directory: String, continuation: AsyncStream<InotifyNotification>.Continuation) {
        guard ready, let path = canonicalPath(directory) else {
            continuation.yield(.watchLost)
            continuation.finish()
            return
        }
        if let wd = watches.first(where: { $0.value.path == path })?.key {
            watches[wd]?.subscribers[id] = continuation
            continuation.yield(.watching)
            return
        }
        guard let wd = addWatch(path) else {
            continuation.yield(.watchLost)
            continuation.finish()
            return
        }
        // A second path to the same inode (a bind mount) gets the same wd: share that watch.
        watches[wd, default: Watch(path: path, subscribers: [:])].subscribers[id] = continuation
        publish()
        continuation.yield(.watching)
    }

    private func unsubscribe(id: UInt64) {
        guard let wd = watches.first(where: { $0.value.subscribers[id] != nil })?.key else { return }
        watches[wd]?.subscribers[id] = nil
        if watches[wd]?.subscribers.isEmpty == true {
            watches[wd] = nil
            inotifytools_remove_watch_by_wd(wd)
            publish()
        }
    }

    private func addWatch(_ path: String) -> Int32? {
        let mask = InotifyMask.directoryWatch.union(.onlyDirectory)
        guard inotifytools_watch_file(path, Int32(bitPattern: mask.rawValue)) == 1 else {
            let error = Self.libraryError("inotify_add_watch", path, inotifytools_error())
            owner.logger.debug("inotify watch failed", metadata: ["error": "\(error)"])
            return nil
        }
        // The library stores directory watches with a trailing "/".
        let wd = inotifytools_wd_from_filename(path + "/")
        return wd >= 0 ? wd : nil
    }

    /// Initializes the library and watches the wake directory if it can (when neither TMPDIR nor the
    /// fallback in the status directory is writable, it polls once a second for requests).
    private func start() -> Bool {
        let before = inotifyDescriptors()
        guard inotifytools_initialize() == 1 else {
            let error = Self.libraryError("inotify_init", "inotifytools", inotifytools_error())
            owner.logger.error("inotifytools_initialize failed", metadata: ["error": "\(error)"])
            return false
        }
        // The library opens its fd without IN_CLOEXEC and does not expose it: find it as the new inotify fd.
        for fd in inotifyDescriptors().subtracting(before) {
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
        let wakeDirectory = owner.wakeDirectory
        var failure: (any Error)?  // the cause to report if the watch below fails
        if wakeLock.map({ !InotifyWakeDirectory.holds($0, at: wakeDirectory) }) ?? true {
            try? wakeLock?.close()
            wakeLock = nil
            do {
                wakeLock = try InotifyWakeDirectory.make(wakeDirectory)
            } catch {
                failure = error
            }
        }
        let mask = InotifyMask([.create, .deleteSelf, .moveSelf, .onlyDirectory])
        if inotifytools_watch_file(wakeDirectory, Int32(bitPattern: mask.rawValue)) == 1 {
            wakeWD = inotifytools_wd_from_filename(wakeDirectory + "/")
        } else {
            wakeWD = -1
            let error = failure ?? Self.libraryError("inotify_add_watch", wakeDirectory, inotifytools_error())
            owner.logger.error(
                "cannot watch the inotify wake directory (mount an emptyDir at /tmp or set TMPDIR to a writable directory): polling every second",
                metadata: ["error": "\(error)"])
        }
        let marker = "fence-\(owner.state.withLock { $0.next() })"
        // Without a marker no stale event can be told apart: better to accept them than to drop everything.
        fence = wakeWD >= 0 && (try? owner.touch(marker)) != nil ? marker : nil
        return true
    }

    /// Closes and reopens the library, re-watches every directory still subscribed, and rescans them all,
    /// since events queued on the old fd are gone.
    private func restart() {
        inotifytools_cleanup()
        ready = start()
        let old = watches
        watches = [:]
        for watch in old.values {
            if ready, let wd = addWatch(watch.path) {
                watches[wd, default: Watch(path: watch.path, subscribers: [:])].subscribers
                    .merge(watch.subscribers) { first, _ in first }
            } else {
                for continuation in watch.subscribers.values {
                    continuation.yield(.watchLost)
                    continuation.finish()
                }
            }
        }
        publish()
        if fence == nil {
            broadcast(.overflow)
        } else {
            rescanAfterFence = true
        }
    }

    private func release() {
        let old = watches
        watches = [:]
        for watch in old.values {
            for continuation in watch.subscribers.values {
                continuation.finish()
            }
        }
        inotifytools_cleanup()
        ready = false
        InotifyWakeDirectory.remove(owner.wakeDirectory)
        try? wakeLock?.close()
        wakeLock = nil
    }

    private func broadcast(_ notification: InotifyNotification) {
        for watch in watches.values {
            for continuation in watch.subscribers.values {
                continuation.yield(notification)
            }
        }
    }

    private func publish() {
        let paths = Set(watches.values.map(\.path))
        owner.state.withLock { $0.watchedDirectories = paths }
    }

    private func canonicalPath(_ directory: String) -> String? {
        do {
            return try FileSystemCalls.canonicalPath(directory)
        } catch {
            owner.logger.debug("inotify watch failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func inotifyDescriptors() -> Set<Int32> {
        let names = (try? FileSystemCalls.listNames("/proc/self/fd")) ?? []
        return Set(
            names.compactMap { name in
                (try? FileSystemCalls.readLink("/proc/self/fd/" + name).get()) == "anon_inode:inotify" ? Int32(name) : nil
            })
    }

    /// The library reports a failed call as its own errno, read with `inotifytools_error()`.
    private static func libraryError(_ call: String, _ path: String, _ code: Int32) -> SystemCallError {
        SystemCallError(call, path, Errno(rawValue: code))
    }
}
