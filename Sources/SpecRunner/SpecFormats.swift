/// Every spec test format the runner knows, in the order they are tried.
public enum SpecFormats {
    public static let all: [any SpecFormat] = [
        UnifiedFormat(),
        ConnectionStringFormat(),
        ServerSelectionFormat(),
        RTTFormat(),
        InWindowFormat(),
        SDAMFormat(),
        BSONCorpusFormat(),
        DNSSeedlistFormat(),
        CMAPFormat(),
    ]
}
