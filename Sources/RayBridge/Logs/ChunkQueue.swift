import NIOCore
import RayBridgeClients
import RayBridgeCore

/// A bounded hand-off from the HTTP reader to the uploader. `push` waits while the queue is
/// full, which stops the reader and so, through TCP, Ray's stream: Ray's log file is the buffer,
/// not our memory. `push` cannot be interrupted by cancellation, so a chunk that was read is never
/// dropped on the floor.
actor ChunkQueue {
    private var chunks: [ByteBuffer] = []
    private var head = 0
    private var bytes = 0
    private let capacity: Int
    private var finished = false
    private var pushWaiters: [CheckedContinuation<Void, Never>] = []
    private var popWaiter: CheckedContinuation<ByteBuffer?, Never>?
    private(set) var lastActivity = ContinuousClock.now

    init(capacity: Int) {
        self.capacity = capacity
    }

    func push(_ chunk: ByteBuffer) async {
        lastActivity = .now
        while popWaiter == nil && bytes >= capacity && !finished {
            await withCheckedContinuation { pushWaiters.append($0) }
            lastActivity = .now
        }
        // A waiting pop means the queue is empty: hand over directly. Checked after the wait too,
        // or a chunk queued behind a waiting pop would be overtaken by the next one.
        if let waiter = popWaiter {
            popWaiter = nil
            waiter.resume(returning: chunk)
            return
        }
        chunks.append(chunk)
        bytes += chunk.readableBytes
    }

    func finish() {
        finished = true
        popWaiter?.resume(returning: nil)
        popWaiter = nil
        resumePushers()
    }

    /// The next chunk, or nil once finished and empty.
    func pop() async -> ByteBuffer? {
        if head < chunks.count {
            let chunk = chunks[head]
            head += 1
            bytes -= chunk.readableBytes
            if head == chunks.count {
                chunks.removeAll(keepingCapacity: true)
                head = 0
            }
            if bytes < capacity { resumePushers() }
            return chunk
        }
        if finished { return nil }
        return await withCheckedContinuation { popWaiter = $0 }
    }

    /// The uploader is waiting for bytes and none came for `duration`: the stream has gone quiet.
    func isQuiet(for duration: Duration) -> Bool {
        popWaiter != nil && ContinuousClock.now - lastActivity >= duration
    }

    private func resumePushers() {
        let waiters = pushWaiters
        pushWaiters = []
        for waiter in waiters { waiter.resume() }
    }
}
