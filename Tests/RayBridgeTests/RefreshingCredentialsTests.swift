import Foundation
import Logging
import Synchronization
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Temporary credentials fetched once, again ahead of expiry, and kept while a refresh fails.
@Suite struct RefreshingCredentialsTests {
    /// A clock the test moves, and a source that hands out numbered keys or fails on demand.
    final class Source: Sendable {
        let time = Mutex(Date(timeIntervalSince1970: 2_000_000))
        let fetches = Mutex(0)
        let failing = Mutex(false)

        func fetch() throws(S3CredentialsError) -> TemporaryCredentials {
            if failing.withLock({ $0 }) { throw S3CredentialsError(description: "STS is down") }
            let n = fetches.withLock { count in
                count += 1
                return count
            }
            let now = time.withLock { $0 }
            return TemporaryCredentials(
                credentials: .init(accessKeyId: "KEY\(n)", secretAccessKey: "s\(n)", sessionToken: "t\(n)"),
                expiration: now.addingTimeInterval(20), fetched: now)
        }

        func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    func provider(_ source: Source, health: S3CredentialHealth) -> RefreshingCredentials {
        RefreshingCredentials(
            source: "test", health: health, logger: Logger(label: "test"), now: { source.time.withLock { $0 } }, random: { 0 },
            fetch: { () throws(S3CredentialsError) in try source.fetch() })
    }

    @Test func fetchedOnceThenAgainAheadOfExpiry() async throws {
        let source = Source()
        let credentials = provider(source, health: S3CredentialHealth())
        #expect(try await credentials.credentials().accessKeyId == "KEY1")
        source.advance(14)
        #expect(try await credentials.credentials().accessKeyId == "KEY1")
        source.advance(1.5)  // past 15 s: a quarter of the 20 s lifetime before expiry
        #expect(try await credentials.credentials().accessKeyId == "KEY2")
        #expect(source.fetches.withLock { $0 } == 2)
    }

    @Test func concurrentRequestsShareOneFetch() async throws {
        let source = Source()
        let credentials = provider(source, health: S3CredentialHealth())
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await credentials.credentials().accessKeyId } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["KEY1"])
        #expect(source.fetches.withLock { $0 } == 1)
    }

    @Test func aFailedRefreshKeepsTheOldOnesWhileTheyWorkIsShownAndRecovers() async throws {
        let source = Source()
        let health = S3CredentialHealth()
        let credentials = provider(source, health: health)
        _ = try await credentials.credentials()
        source.failing.withLock { $0 = true }
        source.advance(16)
        #expect(try await credentials.credentials().accessKeyId == "KEY1", "still valid for 4 s")
        #expect(health.lastError?.contains("STS is down") == true)
        source.advance(3.5)
        await #expect(throws: S3CredentialsError.self) { try await credentials.credentials() }
        source.failing.withLock { $0 = false }
        source.advance(2)  // past the retry backoff
        #expect(try await credentials.credentials().accessKeyId == "KEY2")
        #expect(health.lastError == nil)
    }

    /// No request comes between the refresh time and the expiry (a quiet log): a timer refreshes.
    @Test func aTimerRefreshesWithoutARequest() async throws {
        let fetches = Mutex(0)
        let credentials = RefreshingCredentials(
            source: "test", health: S3CredentialHealth(), logger: Logger(label: "test"), random: { 0 },
            fetch: { () throws(S3CredentialsError) in
                let n = fetches.withLock { count in
                    count += 1
                    return count
                }
                return TemporaryCredentials(
                    credentials: .init(accessKeyId: "KEY\(n)", secretAccessKey: "s"), expiration: Date().addingTimeInterval(2), fetched: Date())
            })
        // From before the first fetch: the refresh time (1.5 s after it, a quarter of the lifetime
        // before expiry) is a lower bound from here, however long the fetch's answer takes to
        // settle on a loaded machine (CI once saw 0.3 s).
        let start = ContinuousClock.now
        _ = try await credentials.credentials()
        while fetches.withLock({ $0 }) < 2, ContinuousClock.now - start < .seconds(30) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(fetches.withLock { $0 } == 2)
        #expect(ContinuousClock.now - start >= .milliseconds(1400), "not before the refresh time")
        #expect(try await credentials.credentials().accessKeyId == "KEY2")
    }
}
