import NIOCore
import RayBridgeCore

/// A bounded hand-off from a reader to its consumer. `push` waits while the queue holds
/// `capacity` or more (as `cost` counts), which stops the reader and so, through TCP, Ray's
/// stream: Ray's log file is the buffer, not our memory. `push` cannot be interrupted by
/// cancellation, so an item that was read is never dropped on the floor; `finish` releases it.
actor ChunkQueue<Element: Sendable> {
    private var items: [Element] = []
    private var head = 0
    private var queued = 0
    private let capacity: Int
    private let cost: @Sendable (Element) -> Int
    private var finished = false
    private var pushWaiters: [CheckedContinuation<Void, Never>] = []
    private var popWaiter: CheckedContinuation<Element?, Never>?

    init(capacity: Int, cost: @escaping @Sendable (Element) -> Int) {
        self.capacity = capacity
        self.cost = cost
    }

    func push(_ item: Element) async {
        while popWaiter == nil && queued >= capacity && !finished {
            await withCheckedContinuation { pushWaiters.append($0) }
        }
        // A waiting pop means the queue is empty: hand over directly. Checked after the wait too,
        // or an item queued behind a waiting pop would be overtaken by the next one.
        if let waiter = popWaiter {
            popWaiter = nil
            waiter.resume(returning: item)
            return
        }
        items.append(item)
        queued += cost(item)
    }

    /// Puts `item` first, without waiting for room: news that must not wait behind a backlog.
    func pushFirst(_ item: Element) {
        if let waiter = popWaiter {
            popWaiter = nil
            waiter.resume(returning: item)
        } else if head > 0 {
            head -= 1
            items[head] = item
            queued += cost(item)
        } else {
            items.insert(item, at: 0)
            queued += cost(item)
        }
    }

    func finish() {
        finished = true
        popWaiter?.resume(returning: nil)
        popWaiter = nil
        resumePushers()
    }

    /// The next item, or nil once finished and empty.
    func pop() async -> Element? {
        if head < items.count {
            let item = items[head]
            head += 1
            queued -= cost(item)
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            if queued < capacity { resumePushers() }
            return item
        }
        if finished { return nil }
        return await withCheckedContinuation { popWaiter = $0 }
    }

    private func resumePushers() {
        let waiters = pushWaiters
        pushWaiters = []
        for waiter in waiters { waiter.resume() }
    }
}

extension ChunkQueue where Element == ByteBuffer {
    init(capacity: Int) {
        self.init(capacity: capacity, cost: { $0.readableBytes })
    }
}
