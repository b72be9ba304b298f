"""PEP 517/660 builds: sdists, source trees and git references to wheels, editable projects."""
