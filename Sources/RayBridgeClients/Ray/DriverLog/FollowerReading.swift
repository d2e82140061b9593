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
        Task { await queue.finish() }
    }

    deinit {
        stop()
    }
}
