/// The one way the tests wait for something that happens asynchronously: `condition` is asked
/// every `interval` until it holds, and a `timeout` that passes first fails the test with
/// `what` and whatever `detail` adds (the last status, a process's log...).
///
/// Waiting this way rather than sleeping a fixed time keeps fast machines fast and slow ones
/// correct; the timeouts are generous on purpose, they only bound a failure.
public func eventually(
    _ what: String, timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(10),
    detail: () -> String = { "" }, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw EventuallyTimeout(what: what, timeout: timeout, detail: detail())
        }
        try await Task.sleep(for: interval)
    }
}

/// What `eventually` throws when the condition did not hold in time.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public let detail: String

    public var description: String {
        "timed out after \(timeout) waiting for \(what)" + (detail.isEmpty ? "" : "\n\(detail)")
    }
}
