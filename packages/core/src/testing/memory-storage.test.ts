import { runConsoleStoreConformance, runStorageConformance } from '../conformance/index.js'
import { memoryStorage } from './memory-storage.js'

// The in-memory storage keeps the whole Storage contract, its optional console stores included.

runStorageConformance({
  name: 'memory',
  open: async () => ({ storage: memoryStorage() }),
  noSharedDatabase: 'process memory cannot be shared with other processes (the in-process races run)',
})

runConsoleStoreConformance({
  name: 'memory',
  open: async () => ({ storage: memoryStorage() }),
})
