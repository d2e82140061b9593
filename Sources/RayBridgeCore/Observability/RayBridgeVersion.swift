public enum RayBridgeVersion { public static let string = "0.1.0" }
