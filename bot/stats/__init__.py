"""The read side for officers: /stats figures, the chart and the exports."""
