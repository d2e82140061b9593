import Logging
import RayBridgeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Temporary credentials from one source (STS, the container endpoint), fetched when first
/// needed and again ahead of their expiry: by a timer at the refresh time, or by the first
/// request after it, whichever comes first. A request asks for them before it is signed, so a log
/// stream that outlives them goes on with new ones between two parts: nothing is re-sent.
///
/// A refresh that fails is retried at the next request, at most every `retryBackoff`; meanwhile
/// the old credentials are used while they still work, and the failure is in `health` (the
/// status) and the metric `raybridge_s3_credential_refreshes_total{outcome="failed"}`.
public actor RefreshingCredentials: S3CredentialProvider {
    public typealias Fetch = @Sendable () async throws(S3CredentialsError) -> TemporaryCredentials

    let source: String
    private let fetch: Fetch
    private let now: @Sendable () -> Date
    private let random: @Sendable () -> Double
    private let retryBackoff: Backoff
    private let health: S3CredentialHealth
    private let logger: Logger
    private var current: TemporaryCredentials?
    private var refreshAt: Date?
    private var inFlight: Task<Result<TemporaryCredentials, S3CredentialsError>, Never>?
    private var failures = 0
    private var nextAttempt: Date = .distantPast
    private var lastLogged: String?
    /// Refreshes at the refresh time even when no request comes then (a slow log), so that the
    /// next part does not wait for STS, nor fail if STS fails just then.
    private var timer: Task<Void, Never>?

    public init(
        source: String, health: S3CredentialHealth, logger: Logger,
        retryBackoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(30)),
        now: @escaping @Sendable () -> Date = { Date() }, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        fetch: @escaping Fetch
    ) {
        self.source = source
        self.health = health
        self.logger = logger
        self.retryBackoff = retryBackoff
        self.now = now
        self.random = random
        self.fetch = fetch
    }

    deinit {
        timer?.cancel()
    }

    public func credentials() async throws(S3CredentialsError) -> S3Credentials {
        let time = now()
        if let current, refreshAt.map({ time < $0 }) ?? true { return current.credentials }
        if let current, time < nextAttempt, current.usable(at: time) { return current.credentials }
        let task: Task<Result<TemporaryCredentials, S3CredentialsError>, Never>
        if let inFlight {
            task = inFlight
        } else {
            let fetch = fetch
            // Unstructured so that every caller waiting meanwhile shares this one fetch (a
            // cancelled caller must not cancel it for the others); it ends with the fetch.
            task = Task { () async -> Result<TemporaryCredentials, S3CredentialsError> in
                do throws(S3CredentialsError) { return .success(try await fetch()) } catch { return .failure(error) }
            }
            inFlight = task
        }
        let result = await task.value
        if inFlight == task { settle(result) }
        switch result {
        case .success(let fresh):
            return fresh.credentials
        case .failure(let error):
            if let current, current.usable(at: now()) { return current.credentials }
            throw error
        }
    }

    /// Installs a fetch's result once, whichever of the waiting requests gets here first.
    private func settle(_ result: Result<TemporaryCredentials, S3CredentialsError>) {
        inFlight = nil
        switch result {
        case .success(let fresh):
            if failures > 0 {
                logger.info("S3 credentials refreshed again after failures", metadata: ["source": "\(source)", "failures": "\(failures)"])
            }
            failures = 0
            lastLogged = nil
            nextAttempt = .distantPast
            current = fresh
            refreshAt = fresh.refreshTime(random: random())
            schedule(at: refreshAt)
            health.recovered()
            RayBridgeMetrics.credentialRefresh(source: source, failed: false)
            logger.debug(
                "S3 credentials fetched",
                metadata: [
                    "source": "\(source)", "accessKeyId": "\(S3Credentials.masked(accessKeyId: fresh.credentials.accessKeyId))",
                    "expiration": "\(fresh.expiration.map { RFC3339.format($0) } ?? "-")",
                ])
        case .failure(let error):
            failures += 1
            let delay = retryBackoff.delay(afterFailures: failures)
            nextAttempt = now().addingTimeInterval(delay.timeInterval)
            if current != nil { schedule(at: nextAttempt) }
            health.failed("cannot refresh the S3 credentials (\(source)): \(error)")
            RayBridgeMetrics.credentialRefresh(source: source, failed: true)
            // Once per changed reason: a refresh failing for hours must not flood the log.
            guard error.description != lastLogged else { return }
            lastLogged = error.description
            logger.warning(
                "cannot refresh the S3 credentials; retrying with backoff",
                metadata: ["source": "\(source)", "error": "\(error)", "attempt": "\(failures)"])
        }
    }

    private func schedule(at date: Date?) {
        timer?.cancel()
        guard let date else { return }
        // Rounded up: a timer that wakes a moment early would find the credentials still fresh
        // and, fetching nothing, never be set again.
        let delay = max(0, date.timeIntervalSince(now()))
        // Unstructured: the refresh is due whether or not anyone asks for credentials then; the
        // next schedule or `deinit` cancels it, and it holds the provider weakly.
        timer = Task { [weak self] in
            do { try await Task.sleep(for: .milliseconds(Int((delay * 1000).rounded(.up)) + 1)) } catch { return }
            await self?.timerFired(for: date)
        }
    }

    private func timerFired(for date: Date) async {
        // The wall clock can lag the sleep's clock: early, wait the rest.
        if now() < date {
            schedule(at: date)
            return
        }
        // A failure is already recorded and rescheduled by `settle`.
        _ = try? await credentials()
    }
}

/// Credentials that expire (STS, the container credentials endpoint), with when they were fetched.
public struct TemporaryCredentials: Sendable, Equatable {
    public var credentials: S3Credentials
    /// nil: the source did not say; they are used until a request is refused.
    public var expiration: Date?
    public var fetched: Date

    public init(credentials: S3Credentials, expiration: Date?, fetched: Date) {
        self.credentials = credentials
        self.expiration = expiration
        self.fetched = fetched
    }

    var lifetime: TimeInterval? { expiration.map { $0.timeIntervalSince(fetched) } }

    /// When to fetch new ones: a few minutes before expiry (a quarter of the lifetime for short
    /// ones), earlier by a random share so that many sidecars of one role do not ask STS at once.
    /// `random` is in 0..<1.
    public func refreshTime(random: Double) -> Date? {
        guard let expiration, let lifetime else { return nil }
        let ahead = min(300, max(0, lifetime) / 4)
        let jitter = min(60, max(0, lifetime) / 10) * random
        return expiration.addingTimeInterval(-(ahead + jitter))
    }

    /// Whether a request signed now still arrives before they expire (a margin for the clock
    /// skew and the request's time on the wire).
    public func usable(at now: Date) -> Bool {
        guard let expiration, let lifetime else { return true }
        return now < expiration.addingTimeInterval(-min(10, max(0, lifetime) / 20))
    }
}

/// The last failure to get S3 credentials, while it lasts: read by the status writer, which must
/// not wait for a refresh in progress.
public final class S3CredentialHealth: Sendable {
    private let error = Mutex<String?>(nil)

    public init() {}

    public var lastError: String? { error.withLock { $0 } }

    func failed(_ reason: String) { error.withLock { $0 = reason } }
    func recovered() { error.withLock { $0 = nil } }
}
