// `import MongoClientPool` alone gives an application what it needs: the pool, documents
// (MongoBSON), the connection string, read preferences, descriptions and events (SDAMCore),
// and the TLS error kinds and configuration (MongoTLS).
@_exported import MongoBSON
@_exported import SDAMCore
@_exported import MongoTLS
