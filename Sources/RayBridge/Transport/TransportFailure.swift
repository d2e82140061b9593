import AsyncHTTPClient

/// How a failed HTTP exchange (refused, timed out, reset) reads in an error message, the same for
/// Ray and S3: AsyncHTTPClient's own words, other errors cut to a length that fits a status file.
enum TransportFailure {
    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            return "\(error)"
        }
        let text = "\(error)"
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
