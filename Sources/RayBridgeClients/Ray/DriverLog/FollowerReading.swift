import RayBridgeCore

/// What a follower's engine hands to the iterator: events, then `.finished` once the follow is done.
enum FollowerOutput: Sendable {
    case event(DriverLogEvent)
    case finished

    var bytes: Int {
        if case .event(.bytes(let buffer)) = self { return buffer.readableBytes }
        return 0
    }
}

/// The task that runs one iteration's `FollowerEngine` and the queue it fills. A class so that the
/// iterator's end (its last copy released) stops the reading.
final class FollowerReading: Sendable {
    let queue: ChunkQueue<FollowerOutput>
    private let task: Task<Void, Never>

    init<C>(engine: FollowerEngine<C>, capacity: Int) {
        let queue = ChunkQueue<FollowerOutput>(capacity: capacity, cost: { $0.bytes })
        self.queue = queue
        // Unstructured because an iterator has no scope to run a child in: the reading lives as long
        // as the iterator holds it, and `stop()` (cancellation, or the last copy released) ends it.
        task = Task {
            do {
                try await engine.run(into: queue)
                await queue.push(.finished)
            } catch {}
            await queue.finish()
        }
    }

    /// Cancels the reading; a push waiting for room is released by finishing the queue.
    func stop() {
        task.cancel()
        let queue = queue
        // `stop()` is called from a cancellation handler and `deinit`, which cannot await.
        Task { await queue.finish() }
    }

    deinit {
        stop()
    }
}
