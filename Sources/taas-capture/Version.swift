enum TaasCaptureVersion { static let string = "0.2.0" }
