import ArgumentParser
import Logging
import RayBridge
import RayBridgeClients
import RayBridgeCore

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json

    func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch self {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
