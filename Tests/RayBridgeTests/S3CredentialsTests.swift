import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct S3CredentialsTests {
    @Test func textualFormsHideSecretAndTokenAndShowTheKeyIdsLastFourCharacters() {
        let credentials = S3Credentials(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SuperSecretValue", sessionToken: "TokenValue")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            credentials.description, credentials.debugDescription, "\(credentials)",
            String(reflecting: credentials), dumped,
        ] {
            #expect(!text.contains("SuperSecretValue"))
            #expect(!text.contains("TokenValue"))
            #expect(!text.contains("AKIDEX"), "\(text)")
            #expect(text.contains("****************MPLE"), "\(text)")
        }
        #expect(S3Credentials(accessKeyId: "a", secretAccessKey: "b").description.contains("sessionToken: none"))
    }

    @Test func theKeyIdIsShownAsAwsConfigureListShowsIt() {
        #expect(S3Credentials.masked(accessKeyId: "AKIAIOSFODNN7EXAMPLE") == "****************MPLE")
        // Four characters would be most of a short id (a test server's "minio"): none of it then.
        #expect(S3Credentials.masked(accessKeyId: "minio") == "****************")
        #expect(S3Credentials.masked(accessKeyId: "") == "****************")
        #expect(S3Credentials.masked(accessKeyId: "12345678") == "****************5678")
    }

    @Test func theCredentialSourceLogShowsOnlyTheKeyIdsLastFourCharacters() throws {
        let files = try WatchTestDirectory()
        defer { files.remove() }
        let log = LogCapture()
        let environment = ["AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT00001", "AWS_SECRET_ACCESS_KEY": "envsecret"]
        let chain = S3CredentialChain(
            secretFiles: S3CredentialsFile(directory: files.path), environment: environment, http: HTTPClient.shared, trust: nil,
            logger: log.logger)
        chain.announceSource()
        try "AKIASECRETFILES00002\n".write(toFile: files.sub("accesskey"), atomically: true, encoding: .utf8)
        try "filesecret\n".write(toFile: files.sub("secretkey"), atomically: true, encoding: .utf8)
        chain.announceSource()
        let lines = log.lines
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains("accessKeyId=****************0001") == true, "\(lines)")
        #expect(lines.last?.contains("accessKeyId=****************0002") == true, "\(lines)")
        for line in lines {
            #expect(!line.contains("AKIA"), "\(line)")
        }
    }

    @Test func freshTemporaryCredentialsLogTheKeyIdsLastFourCharacters() async throws {
        let log = LogCapture()
        let credentials = RefreshingCredentials(source: "test", health: S3CredentialHealth(), logger: log.logger) {
            () throws(S3CredentialsError) in
            TemporaryCredentials(
                credentials: .init(accessKeyId: "ASIATEMPORARYKEYID42", secretAccessKey: "s", sessionToken: "t"),
                expiration: Date().addingTimeInterval(3600), fetched: Date())
        }
        _ = try await credentials.credentials()
        let lines = log.lines
        #expect(lines.contains { $0.contains("accessKeyId=****************ID42") }, "\(lines)")
        #expect(!lines.contains { $0.contains("ASIA") }, "\(lines)")
    }

    @Test func anErrorBodyEchoingTheKeyIdShowsItsLastFourCharacters() {
        // Some S3-compatible servers name the key in the message of InvalidAccessKeyId.
        let credentials = S3Credentials(accessKeyId: "GK31c2f218a2e44f485b94239e", secretAccessKey: "secret")
        let body = "<Error><Code>InvalidAccessKeyId</Code><Message>No such key: GK31c2f218a2e44f485b94239e</Message></Error>"
        let shown = S3ErrorResponse.parse(S3Client.shownErrorBody(Data(body.utf8), credentials: credentials))
        #expect(shown?.code == "InvalidAccessKeyId")
        #expect(shown?.message == "No such key: ****************239e", "\(String(describing: shown))")
    }
}

/// Every log line at any level, as `message key=value ...`, for a test to read.
final class LogCapture: Sendable {
    private let captured = Mutex<[String]>([])

    var lines: [String] { captured.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "capture") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let line = (["\(event.message)"] + merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }).joined(separator: " ")
            capture.captured.withLock { $0.append(line) }
        }
    }
}
