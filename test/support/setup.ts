// Loaded before every test file: @peculiar/x509 (used by the passport generator) needs the reflect polyfill.
import 'reflect-metadata';
