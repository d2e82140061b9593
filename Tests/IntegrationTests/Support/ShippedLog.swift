import Foundation
import Testing

/// The S3 object a sidecar shipped a run's log to, checked against Ray's own copy.
enum ShippedLog {
    /// The object equals `GET /api/jobs/{id}/logs`, and no multipart upload is left open.
    static func expectByteExact(_ status: [String: String], jobName: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let bucket = ConfigMapValues.logBucket
        let id = try #require(status["id"])
        let key = "\(jobName)/logs/\(id).log"
        #expect(LogStatus.info(status)?["destination"] as? String == "s3://\(bucket)/\(key)", sourceLocation: sourceLocation)
        let object = try await S3Server.client().getObject(bucket: bucket, key: key, maxBytes: 1 << 30)
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
        let open = try S3Server.openUploads(bucket: bucket, prefix: "\(jobName)/")
        #expect(open.isEmpty, "incomplete uploads left: \(open)", sourceLocation: sourceLocation)
    }
}
