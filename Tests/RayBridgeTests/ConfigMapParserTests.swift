import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct ConfigMapParserTests {
    let parser = ConfigMapParser(jobName: "demo")
    let minimal = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)"]

    @Test func minimalInlineConfigMapIsValidWithDefaults() throws {
        let spec = try #require(parser.parse(minimal).spec)
        #expect(spec.rayURL.absoluteString == "http://127.0.0.1:8265")
        #expect(spec.script == .inline("print(1)"))
        #expect(spec.updateInterval == .seconds(20))
        #expect(spec.kill == false)
        #expect(spec.s3 == nil)
        #expect(spec.submits)
    }

    @Test func bridgeStyleConfigMapWithS3IsValid() throws {
        let values = [
            "jobdata.jobParameters": "mybucket:ray/parameters.json",
            "jobdata.scriptMetadata": "mybucket:ray/metadata.json",
            "resourceURL": "http://ray-ray-head.ray.svc.cluster.local:8265",
            "status.submitTime": "19/04/2022 21:32:40",
            "jobdata.jobScript": "mybucket:ray/code.py",
            "s3.endpoint": "minio.local:9000",
            "s3.secure": "false",
            "jobdata.scriptLocation": "s3",
            "s3upload.files": "",
            "updateInterval": "20",
            "jobproperties": "",
            "jobdata.scriptExtraLocation": "s3",
            "status.jobStatus": "SUBMITTED",
            "s3upload.bucket": "mybucket",
            "jobdata.additionalData": "",
            "resourcesecret": "mysecret",
            "s3.secret": "mysecret-s3",
        ]
        let result = parser.parse(values)
        let spec = try #require(result.spec, "\(result)")
        #expect(spec.script == .s3(S3ObjectRef(bucket: "mybucket", key: "ray/code.py")))
        #expect(
            spec.extras
                == .s3(
                    metadata: .init(bucket: "mybucket", key: "ray/metadata.json"), parameters: .init(bucket: "mybucket", key: "ray/parameters.json")))
        #expect(spec.s3?.endpoint.absoluteString == "http://minio.local:9000")
        #expect(spec.s3?.prefix == "demo/")
        #expect(spec.s3?.secretName == "mysecret-s3")
        #expect(result.warnings.isEmpty)
    }

    @Test func everyProblemIsReportedAtOnceWithItsKey() {
        let values = [
            "resourceURL": "ftp://x",
            "kill": "yes",
            "updateInterval": "0",
            "jobdata.scriptLocation": "git",
            "jobdata.scriptMetadata": "{\"pip\": 3}",
            "jobdata.jobParameters": "{\"a=b\": 1, \"c\": [1], \"d\": \"x=y\"}",
            "jobproperties": "{\"entrypoint_num_cpus\": \"two\", \"bogus\": 1}",
            "s3.endpoint": "127.0.0.1:9000",
        ]
        guard case .invalid(let problems, _) = parser.parse(values) else {
            Issue.record("expected invalid")
            return
        }
        let keys = Set(problems.map(\.key))
        #expect(
            keys == [
                "resourceURL", "kill", "updateInterval", "jobdata.scriptLocation", "jobdata.scriptMetadata",
                "jobdata.jobParameters", "jobproperties", "s3upload.bucket",
            ])
        #expect(problems.filter { $0.key == "jobdata.jobParameters" }.count == 3)
        #expect(problems.summary.contains("- updateInterval: must be a whole number"))
    }

    @Test(arguments: [
        ("updateInterval", "20.5"), ("updateInterval", "-1"), ("kill", "1"),
        ("jobdata.scriptExtraLocation", "ftp"), ("jobproperties", "[1]"), ("jobproperties", "{"),
        ("jobdata.jobParameters", "{\"\": 1}"), ("jobdata.jobParameters", "{\"k\": {\"x\": 1}}"),
        ("resourceURL", "http://user:pw@host:8265"), ("resourceURL", ""),
        ("jobproperties", "{\"runtime_env\": {\"working_dir\": \"/x\"}}"),
        ("jobproperties", "{\"metadata\": {\"raybridge.job\": \"x\"}}"),
    ])
    func badValueIsNamed(key: String, value: String) {
        var values = minimal
        values[key] = value
        guard case .invalid(let problems, _) = parser.parse(values) else {
            Issue.record("\(key)=\(value) should be invalid")
            return
        }
        #expect(problems.contains { $0.key == key }, "\(problems)")
    }

    @Test func scriptIsOptionalWhenAttaching() throws {
        let spec = try #require(parser.parse(["resourceURL": "http://127.0.0.1:8265", "id": "raysubmit_abc"]).spec)
        #expect(spec.attachId == "raysubmit_abc")
        #expect(!spec.submits)
    }

    @Test func unknownKeysAreWarnedNotFatal() {
        var values = minimal
        values["colour"] = "blue"
        let result = parser.parse(values)
        #expect(result.spec != nil)
        #expect(result.warnings == ["unknown key \"colour\" is ignored"])
    }

    @Test func revisionIgnoresOperationalAndIgnoredKeys() {
        let base = Revision(values: minimal)
        var changed = minimal
        changed["kill"] = "true"
        changed["updateInterval"] = "5"
        changed["status.jobStatus"] = "RUNNING"
        changed["jobdata.additionalData"] = "x"
        #expect(Revision(values: changed) == base)
        changed["resubmit"] = "1"
        #expect(Revision(values: changed) != base)
        changed["resubmit"] = nil
        changed["jobdata.jobParameters"] = "{\"a\": 1}"
        #expect(Revision(values: changed) != base)
    }

    @Test func parametersBecomePythonStyleTextSortedByKey() throws {
        var values = minimal
        values["jobdata.jobParameters"] = #"{"b": true, "a": 10, "c": 1.5, "d": null, "e": "x y"}"#
        values["jobdata.scriptMetadata"] = #"{"pip": {"requests": "2.26.0", "numpy": "", "rich": ">=13"}, "env": {"MY_VARIABLE1": "v1", "N": 3}}"#
        let spec = try #require(parser.parse(values).spec)
        guard case .inline(let extras) = spec.extras else { Issue.record("inline expected"); return }
        #expect(extras.parameters.map { "\($0.key)=\($0.value)" } == ["a=10", "b=True", "c=1.5", "d=None", "e=x y"])
        #expect(extras.pip == ["numpy", "requests==2.26.0", "rich>=13"])
        #expect(extras.env == ["MY_VARIABLE1": "v1", "N": "3"])
    }

    @Test func s3PrefixGetsATrailingSlash() throws {
        var values = minimal
        values["s3.endpoint"] = "127.0.0.1:9000"
        values["s3upload.bucket"] = "ray-logs"
        values["s3upload.prefix"] = "team/a"
        let spec = try #require(parser.parse(values).spec)
        #expect(spec.s3?.prefix == "team/a/")
        #expect(spec.s3?.endpoint.absoluteString == "https://127.0.0.1:9000")
        #expect(spec.s3?.logKey(submissionId: "x-1-abc") == "team/a/logs/x-1-abc.log")
    }
}

extension ConfigMapParserTests {
    @Test func anEmptyValueHashesLikeAMissingKey() {
        var values = minimal
        values["jobproperties"] = ""
        values["resubmit"] = "  "
        #expect(Revision(values: values) == Revision(values: minimal))
    }
}
