#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A validated ConfigMap: everything needed to run, stop or attach to the job.
public struct JobSpec: Sendable, Equatable {
    /// The Ray dashboard, e.g. `http://ray-head.ray.svc:8265`.
    public var rayURL: URL
    /// `id`: attach to this existing submission instead of submitting.
    public var attachId: String?
    public var kill: Bool
    public var updateInterval: Duration
    public var script: ScriptSource
    public var extras: ExtrasSource
    /// `jobdata.file.*`: files shipped beside `script.py`, sorted by name.
    public var files: [JobFile] = []
    /// `jobproperties`: Ray submit options passed through (already validated).
    public var jobProperties: [String: JSONValue]
    public var s3: S3Settings?
    public var revision: Revision
    /// `backoffLimit`: how many more times a run that ended FAILED (or was lost) is submitted again.
    public var backoffLimit: Int = 0
    /// `activeDeadlineSeconds`: a run not terminal this long after its submission is stopped.
    public var activeDeadline: Duration?
    /// `preRunningDeadlineSeconds`: a run not RUNNING this long after its submission is stopped,
    /// a failed attempt.
    public var preRunningDeadline: Duration?
    /// `keepFinishedRuns`: how many finished runs of this job name stay on the cluster (nil: all).
    public var keepFinishedRuns: Int? = 20

    /// Attempts a revision gets in all: the first and `backoffLimit` retries.
    public var maxAttempts: Int { backoffLimit + 1 }

    /// Whether this spec asks for a submission at all.
    public var submits: Bool { attachId == nil && !kill }
}

/// Where the job's script comes from (`jobdata.scriptLocation`).
public enum ScriptSource: Sendable, Equatable {
    /// The script text itself, shipped as `script.py` in a working_dir package.
    case inline(String)
    /// Fetched from S3, then shipped like an inline script.
    case s3(S3ObjectRef)
    /// An object in S3 whose name ends in `.zip`: the job's whole working directory, `script.py`
    /// at its root. Copied to Ray as it is.
    case s3Zip(S3ObjectRef)
    /// A path that already exists on the Ray cluster; nothing is uploaded.
    case cluster(String)
}

/// How `jobdata.scriptMetadata` and `jobdata.jobParameters` are given (`jobdata.scriptExtraLocation`).
public enum ExtrasSource: Sendable, Equatable {
    case inline(ScriptExtras)
    /// Each is fetched from S3 when the run is submitted; nil = not given (`{}`).
    case s3(metadata: S3ObjectRef?, parameters: S3ObjectRef?)
}
