import Foundation
import Testing

/// The S3 object a sidecar shipped a run's log to, checked against Ray's own copy.
enum ShippedLog {
    /// The object equals `GET /api/jobs/{id}/logs`, and no multipart upload is left open.
    /// `gzip`: the object is `<id>.log.gz`, and what `gzip -d` makes of it is compared.
    static func expectByteExact(
        _ status: [String: String], jobName: String, gzip: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let bucket = ConfigMapValues.logBucket
        let id = try #require(status["id"])
        let key = "\(jobName)/logs/\(id).log" + (gzip ? ".gz" : "")
        #expect(LogStatus.info(status)?["destination"] as? String == "s3://\(bucket)/\(key)", sourceLocation: sourceLocation)
        var object = try await S3Server.client().getObject(bucket: bucket, key: key, maxBytes: 1 << 30)
        if gzip { object = try await gunzip(object) }
        let ray = Data(try await RayHead.client().logs(id).utf8)
        #expect(object.count == ray.count, "object \(object.count) bytes, Ray \(ray.count) bytes", sourceLocation: sourceLocation)
        if object != ray {
            let chunk = 1 << 16
            let firstChunk = stride(from: 0, to: min(object.count, ray.count), by: chunk).first {
                object[$0..<min($0 + chunk, object.count)] != ray[$0..<min($0 + chunk, ray.count)]
            }
            let firstDifference = firstChunk ?? min(object.count, ray.count)
            Issue.record("the S3 object differs from Ray's log at byte \(firstDifference)", sourceLocation: sourceLocation)
        }
        #expect(LogStatus.info(status)?["bytes"] as? Int == ray.count, sourceLocation: sourceLocation)
        let open = try await S3Server.openUploads(bucket: bucket, prefix: "\(jobName)/")
        #expect(open.isEmpty, "incomplete uploads left: \(open)", sourceLocation: sourceLocation)
    }

    /// The system's `gzip -d`, not raybridge's code.
    static func gunzip(_ data: Data) async throws -> Data {
        let path = NSTemporaryDirectory() + "raybridge-object-\(UUID().uuidString.prefix(8)).gz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try data.write(to: URL(fileURLWithPath: path))
        let (status, _) = try await TestEnvironment.shell(["bash", "-c", "gzip -dc '\(path)' > '\(path).out'"])
        defer { try? FileManager.default.removeItem(atPath: path + ".out") }
        guard status == 0 else { throw TestFailure("gzip -d refused the object (\(data.count) bytes)") }
        return try Data(contentsOf: URL(fileURLWithPath: path + ".out"))
    }
}
