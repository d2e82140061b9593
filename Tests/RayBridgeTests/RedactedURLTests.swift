import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Whatever the text, the secret parts never come out; the rest stays readable.
@Suite struct RedactedURLTests {
    @Test(arguments: [
        ("http://user:hunter2@ray:8265", "http://***@ray:8265"),
        ("https://hunter2@ray", "https://***@ray"),
        ("user:hunter2@minio:9000", "***@minio:9000"),  // no scheme
        ("http://u:hunt@er2@ray", "http://***@ray"),  // several @
        ("http://u:a/b?c#hunter2@ray:8265/x", "http://***@ray:8265/x"),  // a password with / ? #
        ("http://ray:8265/x?token=hunter2", "http://ray:8265/x?***"),
        ("http://ray:8265/x#hunter2", "http://ray:8265/x#***"),
        ("http://u%3Ahunter2@ray", "http://***@ray"),  // percent-encoded
        ("http://u:hunter2%40x@ray", "http://***@ray"),
        ("http://u:hunter2@[::1]:8265/?x=1", "http://***@[::1]:8265/?***"),  // IPv6 literal
        ("http://[fe80::1]:99999", "http://[fe80::1]:99999"),
        ("http://ray:8265/a@b", "http://***@b"),  // @ in the path: hidden rather than risk a password
        ("ray.local:8265", "ray.local:8265"),
        ("", ""),
        ("HTTPS://u:hunter2@ray", "HTTPS://***@ray"),
        ("1http://u:hunter2@ray", "***@ray"),  // not a scheme: all of it is a candidate userinfo
        ("http://ray\n:8265\0", "http://ray\\u{a}:8265\\u{0}"),
        ("http://ray\u{2028}x\u{200B}", "http://ray\\u{2028}x\\u{200b}"),
    ])
    func redacts(input: String, expected: String) {
        #expect(RedactedURL.redact(input) == expected)
        #expect(!RedactedURL.redact(input).contains("hunter2"))
    }

    @Test func truncatesOnlyAfterRedacting() {
        // A cut before the '@' would have shown the start of the password.
        let long = "http://user:hunter2" + String(repeating: "x", count: 500) + "@ray:8265"
        let shown = RedactedURL.redact(long, limit: 40)
        #expect(shown == "http://***@ray:8265")
        let longPath = "http://ray:8265/" + String(repeating: "p", count: 500) + "?token=hunter2"
        let cut = RedactedURL.redact(longPath, limit: 30)
        #expect(cut.count == 31 && cut.hasSuffix("…") && !cut.contains("hunter2"))
    }
}
