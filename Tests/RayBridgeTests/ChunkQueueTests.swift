import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct ChunkQueueTests {
    /// Backpressure must never reorder: a slow consumer against a fast producer, many times over.
    @Test(.timeLimit(.minutes(1))) func chunksComeOutInOrderUnderBackpressure() async {
        let queue = ChunkQueue(capacity: 64)
        let count = 3000
        let producer = Task {
            for i in 0..<count {
                var buffer = ByteBuffer()
                buffer.writeInteger(UInt32(i))
                buffer.writeRepeatingByte(0, count: Int.random(in: 0...40))
                await queue.push(buffer)
            }
            await queue.finish()
        }
        var expected: UInt32 = 0
        while var chunk = await queue.pop() {
            let value = chunk.readInteger(as: UInt32.self)
            #expect(value == expected)
            if value != expected { break }
            expected += 1
            if expected % 7 == 0 { await Task.yield() }
            if expected % 97 == 0 { try? await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(expected == UInt32(count))
        await producer.value
    }

    /// News that must not wait (the run ended) goes first, even into a full queue.
    @Test func pushFirstOvertakesAndNeverWaits() async {
        let queue = ChunkQueue(capacity: 2)
        await queue.push(ByteBuffer(string: "ab"))
        await queue.pushFirst(ByteBuffer(string: "!"))
        await queue.finish()
        #expect(await queue.pop() == ByteBuffer(string: "!"))
        #expect(await queue.pop() == ByteBuffer(string: "ab"))
        #expect(await queue.pop() == nil)
    }

    @Test func jitterStaysInTheUpperHalfOfTheBackoff() {
        let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        for failures in 1...8 {
            let delay = backoff.jitteredDelay(afterFailures: failures)
            let full = backoff.delay(afterFailures: failures)
            #expect(delay >= full / 2 && delay <= full)
        }
    }
}
