import Foundation
import SluiceHTTP
import Testing

@Suite struct HTTPTargetTests {
    @Test func basicAuthorizationIsStandardBase64WithPadding() {
        // Every length modulo 3, bytes of every value: the same as Foundation's encoder.
        var bytes: [UInt8] = []
        for length in 0..<70 {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(
                HTTPTarget.basicAuthorization(text) == "Basic " + Data(text.utf8).base64EncodedString(),
                "\(length) bytes")
            bytes.append(UInt8(truncatingIfNeeded: length * 37 + 11) & 0x7F)
        }
        #expect(HTTPTarget.basicAuthorization("user:pässword") == "Basic dXNlcjpww6Rzc3dvcmQ=")
    }
}
