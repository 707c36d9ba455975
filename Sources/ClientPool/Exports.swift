// `import MongoClientPool` alone gives an application what it needs: the pool, documents
// (MongoBSON) and the connection string, read preferences, descriptions and events (SDAMCore).
@_exported import MongoBSON
@_exported import SDAMCore
