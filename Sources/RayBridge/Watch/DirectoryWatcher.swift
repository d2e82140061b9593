import Logging
import RayBridgeClients
import RayBridgeCore

/// Follows the content of a ConfigMap-like directory (kubelet-managed through `..data`, or plain files).
public struct DirectoryWatcher: Sendable {
    public let directory: String
    public let debounce: Duration
    private let logger: Logger
    private static let retryInterval = Duration.seconds(1)

    public init(directory: String, debounce: Duration = .milliseconds(100), logger: Logger) {
        self.directory = directory
        self.debounce = debounce
        var logger = logger
        logger[metadataKey: "directory"] = "\(directory)"
        self.logger = logger
    }

    /// The first element is the content found at start (once the directory exists), then one element per
    /// change of content. The stream never fails: a missing directory and read errors are retried every
    /// second. Cancelling the consuming task or dropping the stream stops watching.
    public func snapshots() -> AsyncStream<DirectorySnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: DirectorySnapshot.self)
        // Unstructured because an AsyncStream's producer has no parent to belong to: the stream is
        // its handle, and the stream's end (the consumer cancelled or gone) cancels it.
        let task = Task { await run(continuation) }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func run(_ output: AsyncStream<DirectorySnapshot>.Continuation) async {
        var last: DirectorySnapshot?
        var missing = false
        while !Task.isCancelled {
            // Subscribe before reading, so that no change between the read and the watch goes unseen.
            var notifications = InotifyThread.shared.subscribe(directory: directory).makeAsyncIterator()
            guard await notifications.next() == .watching else {
                if !missing {
                    logger.warning("directory cannot be watched (missing?), retrying every second")
                    missing = true
                }
                try? await Task.sleep(for: Self.retryInterval)
                continue
            }
            if missing {
                logger.info("directory is watched again")
                missing = false
            }
            var readStart = await read(since: .now, into: &last, output)
            while let notification = await notifications.next() {
                guard case .event(let event) = notification else {
                    if notification == .watchLost { break }
                    readStart = await read(since: .now, into: &last, output)  // .overflow: rescan
                    continue
                }
                // A read that started after this event already saw its effect.
                guard event.observedAt >= readStart, let immediate = reaction(to: event, last: last) else { continue }
                if !immediate {
                    try? await Task.sleep(for: debounce)
                    if Task.isCancelled { break }
                }
                readStart = await read(since: event.observedAt, into: &last, output)
            }
            if !Task.isCancelled {
                logger.warning("directory watch lost (deleted or moved?), watching again")
                missing = true
            }
        }
        output.finish()
    }

    /// nil: ignore the event; true: read now; false: read after the debounce.
    private func reaction(to event: InotifyEvent, last: DirectorySnapshot?) -> Bool? {
        if event.name == "..data" {
            // The new generation is complete the instant ..data points to it.
            if !event.mask.isDisjoint(with: [.movedTo, .create]) { return true }
            return event.mask.isDisjoint(with: [.delete, .movedFrom]) ? nil : false
        }
        // Other ".." names are the writer's scratch (..data_tmp, generation directories); key symlinks of
        // a kubelet-managed directory change only after ..data already did.
        if event.name.isEmpty || event.name.hasPrefix("..") || last?.isKubeletManaged == true { return nil }
        return event.mask.isDisjoint(with: [.closeWrite, .movedTo, .create, .delete, .movedFrom]) ? nil : false
    }

    /// Reads until it succeeds or the task is cancelled, and yields the result if the content changed.
    /// Returns when the successful read started: events seen before then are already accounted for.
    private func read(
        since observedAt: ContinuousClock.Instant, into last: inout DirectorySnapshot?,
        _ output: AsyncStream<DirectorySnapshot>.Continuation
    ) async -> ContinuousClock.Instant {
        var failing = false
        var start = ContinuousClock.now
        while !Task.isCancelled {
            start = .now
            do {
                var snapshot = try DirectorySnapshot.read(directory: directory)
                snapshot.observedAt = observedAt
                if failing { logger.info("directory readable again") }
                if snapshot.values != last?.values || snapshot.invalidBytes != last?.invalidBytes || last == nil {
                    logger.debug("directory content changed", metadata: ["keys": "\(snapshot.values.keys.sorted())"])
                    output.yield(snapshot)
                }
                last = snapshot
                return start
            } catch {
                if !failing {
                    logger.warning("cannot read directory, retrying every second", metadata: ["error": "\(error)"])
                    failing = true
                }
                try? await Task.sleep(for: Self.retryInterval)
            }
        }
        return start
    }
}
