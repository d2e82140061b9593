public struct HealthServerError: Error, CustomStringConvertible {
    public var description: String
}
