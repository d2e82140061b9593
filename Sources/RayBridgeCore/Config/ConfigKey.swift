/// The ConfigMap keys of the contract; the names are the Bridge Operator ray pod's.
public enum ConfigKey {
    public static let resourceURL = "resourceURL"
    public static let id = "id"
    public static let kill = "kill"
    public static let updateInterval = "updateInterval"
    public static let scriptLocation = "jobdata.scriptLocation"
    public static let jobScript = "jobdata.jobScript"
    public static let scriptExtraLocation = "jobdata.scriptExtraLocation"
    public static let scriptMetadata = "jobdata.scriptMetadata"
    public static let jobParameters = "jobdata.jobParameters"
    public static let jobProperties = "jobproperties"
    public static let resubmit = "resubmit"
    public static let s3Endpoint = "s3.endpoint"
    public static let s3Secure = "s3.secure"
    public static let s3Region = "s3.region"
    public static let s3Secret = "s3.secret"
    public static let s3AddressingStyle = "s3.addressingStyle"
    public static let s3Compression = "s3upload.compression"
    public static let s3Bucket = "s3upload.bucket"
    public static let s3Prefix = "s3upload.prefix"
    public static let resourceSecret = "resourcesecret"
    public static let backoffLimit = "backoffLimit"
    public static let activeDeadlineSeconds = "activeDeadlineSeconds"
    public static let preRunningDeadlineSeconds = "preRunningDeadlineSeconds"
    public static let keepFinishedRuns = "keepFinishedRuns"

    /// Keys that do not define the run: changing them never reruns anything by itself (raising
    /// `backoffLimit` after the last failed attempt retries the same revision).
    public static let operational: Set<String> = [
        id, kill, updateInterval, backoffLimit, activeDeadlineSeconds, preRunningDeadlineSeconds, keepFinishedRuns,
    ]

    /// `jobdata.file.<name>`: each an extra file of the job (`JobFiles`); part of the revision.
    public static func isFile(_ key: String) -> Bool { JobFiles.isFileKey(key) }

    /// Accepted for compatibility with the ray pod, where they had no effect.
    public static func isIgnored(_ key: String) -> Bool {
        key == "jobdata.additionalData" || key == "s3upload.files" || key.hasPrefix("status.")
    }

    public static let known: Set<String> = [
        resourceURL, id, kill, updateInterval, scriptLocation, jobScript, scriptExtraLocation,
        scriptMetadata, jobParameters, jobProperties, resubmit, s3Endpoint, s3Secure, s3Region,
        s3Secret, s3Bucket, s3Prefix, resourceSecret, backoffLimit, activeDeadlineSeconds, s3AddressingStyle,
        s3Compression, preRunningDeadlineSeconds, keepFinishedRuns,
    ]
}
