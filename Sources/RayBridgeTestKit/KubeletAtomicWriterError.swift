import Foundation

/// A step of the kubelet's update that failed, with the system's reason.
public struct KubeletAtomicWriterError: Error, CustomStringConvertible {
    public let step: String
    public let errno: Int32

    public var description: String { "\(step): \(String(cString: strerror(errno)))" }
}
